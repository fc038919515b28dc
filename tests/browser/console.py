#!/usr/bin/python3
"""Drive the web console in headless Chromium (Debian chromium and
chromium-driver, python3-selenium), as an analyst would, and print TAP.

    console.py URL TOKEN OUTDIR

The browser runs with a Vietnamese locale (vi-VN) at 1366x768.  Steps:
log in with the token, see the overview with the demo's alerts, filter the
alerts, open an incident, acknowledge it and add a note in Vietnamese, run
a drill and read its scorecard; screenshots (PNG) go to OUTDIR, and
OUTDIR/result.json tells the shell what to check with the CLI.
"""
import json
import os
import shutil
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import (StaleElementReferenceException,
                                        TimeoutException, WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

URL, TOKEN, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
NOTE = "Đã xác minh: máy chủ bị dò mật khẩu SSH — chặn IP ở tường lửa."
WIDTH, HEIGHT = 1366, 768

failed = 0
count = 0
result = {}


def ok(cond, what, diag=None):
    global failed, count
    count += 1
    if cond:
        print("ok %d - %s" % (count, what))
    else:
        failed += 1
        print("not ok %d - %s" % (count, what))
        if diag:
            for line in str(diag).splitlines():
                print("# " + line)
    sys.stdout.flush()
    return cond


def shot(name):
    path = os.path.join(OUT, name + ".png")
    drv.save_screenshot(path)
    return path


def wait(cond, secs=20):
    # the views redraw themselves (live feed): an element may be replaced
    # between finding it and reading it
    return WebDriverWait(drv, secs, poll_frequency=0.2,
                         ignored_exceptions=[StaleElementReferenceException]
                         ).until(cond)


def css(sel):
    return drv.find_element(By.CSS_SELECTOR, sel)


def csss(sel):
    return drv.find_elements(By.CSS_SELECTOR, sel)


def no_overflow(what):
    sw = drv.execute_script("return document.documentElement.scrollWidth")
    ok(sw <= WIDTH, "%s fits %d pixels wide (scrollWidth %d)" % (what, WIDTH, sw))


def js_errors():
    try:
        logs = drv.get_log("browser")
    except WebDriverException:
        return []
    # network answers (401 before log-in) are not script errors
    return [l["message"] for l in logs if l.get("level") == "SEVERE" and
            l.get("source") != "network"]


profile = tempfile.mkdtemp(prefix="tocsin-chromium-")
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
          "--accept-lang=vi-VN,vi",
          "--no-first-run", "--disable-background-networking",
          "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage", "--lang=vi-VN",
          "--user-data-dir=" + profile,
          "--window-size=%d,%d" % (WIDTH, HEIGHT)):
    opts.add_argument(a)
opts.add_experimental_option("prefs", {"intl.accept_languages": "vi-VN,vi"})
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
drv = None
try:
    env = dict(os.environ, LANG="vi_VN.UTF-8", LANGUAGE="vi_VN:vi")
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver", env=env),
                           options=opts)
    # Debian's chromium keeps its translations in chromium-l10n; without
    # them --lang falls back to en-US, so the page's locale (what Intl and
    # toLocaleString use) is set as DevTools sets it, before any page loads
    drv.execute_cdp_cmd("Emulation.setLocaleOverride", {"locale": "vi-VN"})
    drv.set_window_size(WIDTH, HEIGHT)
    # the viewport, not the window, is what a 1366x768 screen gives
    inner = drv.execute_script("return [innerWidth, innerHeight]")
    if inner[0] != WIDTH:
        drv.set_window_size(2 * WIDTH - inner[0], 2 * HEIGHT - inner[1])

    # ---- log in ------------------------------------------------------------
    drv.get(URL + "/")
    wait(EC.visibility_of_element_located((By.ID, "login-token")))
    loc = drv.execute_script(
        "return new Intl.DateTimeFormat().resolvedOptions().locale")
    ok(loc.startswith("vi"), "the browser's locale is Vietnamese (%s)" % loc)
    shot("01-login")
    css("#login-token").send_keys("not.a-token")
    css("#login-submit").click()
    wait(lambda d: css("#login-form .error").text != "")
    ok("Not logged in" in css("#login-form .error").text,
       "a wrong token is refused with a message")
    css("#login-token").clear()
    css("#login-token").send_keys(TOKEN)
    css("#login-submit").click()

    # ---- overview ------------------------------------------------------------
    wait(EC.visibility_of_element_located((By.ID, "ov-chart")))
    ok(css("#who").text.startswith("alice"), "logged in as alice (%s)" %
       css("#who").text)
    cols = csss("svg.chart rect")
    ok(len(cols) > 0, "the overview draws alerts over time (%d bars)" %
       len(cols))
    rules = csss("section[aria-labelledby=ov-rules] ol.bars li")
    hosts = csss("section[aria-labelledby=ov-hosts] ol.bars li")
    ok(len(rules) > 0 and len(hosts) > 0,
       "top rules (%d) and top hosts (%d) are listed" % (len(rules),
                                                       len(hosts)))
    basis = css("#ov-basis").text
    ok(basis.split(" ")[0].replace(".", "").replace(",", "").isdigit()
       and not basis.startswith("0 "),
       "the overview counts the demo's alerts (%s)" % basis)
    tiles = [t.text for t in csss(".tile")]
    ok(any("open incidents" in t for t in tiles), "a tile counts open incidents")
    no_overflow("the overview")
    shot("02-overview")
    top_rule = rules[0].find_element(By.CSS_SELECTOR, "a").get_attribute("title")
    result["top_rule"] = top_rule

    # ---- alerts: filter ----------------------------------------------------------
    drv.get(URL + "/#/alerts")
    wait(lambda d: len(csss("#alerts-body tr")) > 0)
    n_all = len(csss("#alerts-body tr"))
    ok(n_all > 0, "the alerts view lists alerts (%d)" % n_all)
    first_time = css("#alerts-body tr td time")
    iso = first_time.get_attribute("datetime")
    want = drv.execute_script(
        "return new Intl.DateTimeFormat('vi-VN', {dateStyle: 'short', "
        "timeStyle: 'medium'}).format(new Date(arguments[0]))", iso)
    ok(first_time.text == want,
       "times are shown in the Vietnamese format (%r)" % first_time.text,
       "want %r" % want)
    css("#f-rule").send_keys(top_rule)
    Select(css("#f-drills")).select_by_value("no")
    css("#alerts-apply").click()
    wait(lambda d: "rule=" in d.current_url)
    time.sleep(0.5)
    wait(lambda d: len(csss("#alerts-body tr")) > 0)
    got = [r.find_elements(By.CSS_SELECTOR, "td")[2].text
           for r in csss("#alerts-body tr:not(.detail)")]
    ok(len(got) > 0 and all(g == top_rule for g in got),
       "filtered by rule %s: %d rows, all of that rule" % (top_rule, len(got)))
    ok("no_drill=1" in drv.current_url, "the filters are in the address "
       "(a link to share)")
    csss("#alerts-body tr.click")[0].click()
    wait(lambda d: len(csss("#alerts-body tr.detail")) == 1)
    ok("Raw event" in css("#alerts-body tr.detail").text,
       "a click opens the alert's details and raw event")
    no_overflow("the alerts view")
    shot("03-alerts-filtered")

    # ---- incidents: board, one incident, acknowledge, note -------------------------
    drv.get(URL + "/#/incidents")
    wait(EC.visibility_of_element_located((By.ID, "board")))
    cards = csss("section[data-state=open] a.card")
    ok(len(cards) > 0, "the board shows open incidents (%d)" % len(cards))
    no_overflow("the incident board")
    shot("04-incident-board")
    inc_id = cards[0].get_attribute("data-id")
    result["incident"] = int(inc_id)
    cards[0].click()
    wait(EC.visibility_of_element_located((By.ID, "timeline")))
    ok(len(csss("#timeline li")) > 0, "incident #%s has a timeline" % inc_id)
    ok(css("#inc-state").text == "open", "incident #%s is open" % inc_id)
    css("#act-note").send_keys(NOTE)
    css("#act-ack").click()
    wait(lambda d: css("#inc-state").text == "acknowledged", 30)
    ok(True, "acknowledged from the console (state: acknowledged)")
    time.sleep(1.5)  # the live feed's echo of the change redraws the page
    wait(lambda d: "acknowledged by alice" in css("#timeline").text)
    tl = css("#timeline").text
    ok("acknowledged by alice" in tl,
       "the timeline shows the acknowledgement by alice")
    ok(NOTE in tl, "the Vietnamese note shows as written in the timeline",
       tl[-400:])
    css("#act-assignee").clear()
    css("#act-assignee").send_keys("Trần Thị Bích")
    css("#act-assign").click()
    wait(lambda d: css("#inc-assignee").text == "Trần Thị Bích", 30)
    ok(True, "assigned to a Vietnamese name, shown as written")
    no_overflow("the incident page")
    shot("05-incident-acknowledged")
    result["note"] = NOTE
    result["assignee"] = "Trần Thị Bích"

    # ---- agents and health ------------------------------------------------------------
    drv.get(URL + "/#/agents")
    wait(EC.visibility_of_element_located((By.ID, "agents-table")))
    names = [r.find_elements(By.CSS_SELECTOR, "td")[0].text
             for r in csss("#agents-table tbody tr")]
    ok("demo" in names, "the agents view lists the demo agent (%s)" %
       ", ".join(names))
    no_overflow("the agents view")
    shot("06-agents")

    # ---- drills: run one, read its scorecard --------------------------------------------
    drv.get(URL + "/#/drills")
    wait(EC.visibility_of_element_located((By.ID, "scenarios")))
    Select(css("#drill-speed")).select_by_value("10")
    btn = css("button[data-run=webshell]")
    btn.click()
    try:
        wait(lambda d: len(csss("#scorecard")) == 1, 300)
        ok(True, "the drill ran and its scorecard shows")
    except TimeoutException:
        ok(False, "the drill ran and its scorecard shows",
           "toast: " + css("#toast").text + "\n" + css("main").text[-600:])
    if csss("#scorecard"):
        res = css("#sc-result").text
        ok(res in ("PASSED", "FAILED"), "the scorecard gives a result (%s)" % res)
        rows = csss("#sc-table tbody tr")
        ok(len(rows) > 0, "the scorecard lists %d expectations" % len(rows))
        ttd = [r.find_elements(By.CSS_SELECTOR, "td")[3].text for r in rows]
        ok(any(t != "–" for t in ttd),
           "times to detect are shown (%s)" % ", ".join(ttd))
        result["drill"] = css("#sc-h").text.split(" ")[2]
        runs = css("#runs").text
        ok(result["drill"] in runs, "the drill is listed among the past drills")
        last = css("tr[data-scenario=webshell]").text
        ok(("passed" if res == "PASSED" else "failed") in last,
           "the scenario's last run shows the same result (%s)" % last)
        result["drill_result"] = res
        drv.execute_script("document.getElementById('scorecard')"
                           ".scrollIntoView()")
        no_overflow("the drills view")
        shot("07-drill-scorecard")

    errs = js_errors()
    ok(not errs, "no JavaScript error in the browser's console",
       "\n".join(errs))
except Exception as e:  # a broken step: say where, then stop
    ok(False, "the browser steps ran to the end", repr(e))
    if drv is not None:
        try:
            shot("zz-failure")
            print("# page: " + drv.find_element(By.TAG_NAME, "main")
                  .text[:800].replace("\n", "\n# "))
        except WebDriverException:
            pass
finally:
    if drv is not None:
        drv.quit()
    shutil.rmtree(profile, ignore_errors=True)
    with open(os.path.join(OUT, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False)
print("1..%d" % count)
sys.exit(1 if failed else 0)

# tocsin - security-operations log collector and alert engine.
#
#   make            release build into bin/
#   make test       install missing dependencies, ASan/UBSan build, all tests
#                   in parallel (TOCSIN_TEST_JOBS), fuzz seeds replayed once
#   make demo       install missing dependencies, build, run the demo
#   make bench      release build, benchmarks (BENCH lines)
#   make fuzz       libFuzzer targets (clang), a short run of each
#   make install    PREFIX=/usr/local DESTDIR=
#   make deps       apt-get install what is missing (as root)

PREFIX	?= /usr/local
DESTDIR	?=
CC	?= cc
PKG_CONFIG ?= pkg-config

PKGS	:= libpcre2-8 libzmq lmdb yaml-0.1 jansson libhs libcurl expat libevtx
VERSION	:= 0.1.0

WARN	:= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wformat=2
BASEFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	   -DTOCSIN_VERSION=\"$(VERSION)\" $(WARN) -iquote . \
	   $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LIBS	= $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lm -lpthread

REL_CFLAGS  := -O2 -g
ASAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	       -fno-sanitize-recover=undefined

COMPONENTS := common rules collector engine outputs agents tocsind cli
MAINS	:= tocsind/tocsind_main.c agents/agent_main.c cli/tocsin_main.c
# Folders of C sources: one per component, and a component's own
# sub-folders (rules/sigma: the Sigma compiler).
SRC_DIRS := $(COMPONENTS) rules/sigma
LIB_SRC	:= $(filter-out $(MAINS),$(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c)))
HDRS	:= $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.h))
GEN_SRC	:= build/gen/default_config.c build/gen/sigma_logsources.c \
	   build/gen/windows_decoder.c
TEST_SRC := $(wildcard tests/unit/test_*.c)
TOOL_SRC := $(wildcard tests/tools/*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

REL	?= build/release
ASAN	?= build/asan

REL_LIB_OBJ  := $(patsubst %.c,$(REL)/%.o,$(LIB_SRC) $(GEN_SRC))
ASAN_LIB_OBJ := $(patsubst %.c,$(ASAN)/%.o,$(LIB_SRC) $(GEN_SRC))

BINS	:= tocsind tocsin-agent tocsin
main_of_tocsind      := tocsind/tocsind_main.c
main_of_tocsin-agent := agents/agent_main.c
main_of_tocsin       := cli/tocsin_main.c

.PHONY: all test test-build demo bench fuzz install deps clean check-pkgs
.DELETE_ON_ERROR:

all: $(addprefix bin/,$(BINS))

# ---- dependencies ------------------------------------------------------

deps:
	@sh tests/deps.sh

check-pkgs:
	@$(PKG_CONFIG) --exists $(PKGS) || { \
	  echo "missing libraries ($(PKGS)); run 'make deps' (as root)" >&2; exit 2; }

# ---- generated sources --------------------------------------------------

# The default server configuration is embedded so that tocsind runs with no
# -c at all; etc/tocsind.yml stays the one source of truth.
# Data files are embedded as byte arrays (NUL-terminated, with their
# length) so that the YAML stays the one source of truth: the default
# server configuration, so that tocsind runs with no -c at all, and the
# built-in Sigma log source mapping.
# $(call embed,source,symbol)
embed = { echo '\#include <stddef.h>'; \
	   echo 'const char $(2)[] = {'; \
	   od -An -v -tx1 $(1) | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	   echo '0x00 };'; \
	   echo 'const size_t $(2)_len = sizeof($(2)) - 1;'; \
	 }

build/gen/default_config.c: etc/tocsind.yml
	@mkdir -p $(@D)
	@$(call embed,$<,config_default_server) > $@

build/gen/sigma_logsources.c: rules/sigma/logsources.yml
	@mkdir -p $(@D)
	@$(call embed,$<,sigma_default_logsources) > $@

build/gen/windows_decoder.c: rules/windows.yml
	@mkdir -p $(@D)
	@$(call embed,$<,rules_windows_decoder) > $@

# ---- release -------------------------------------------------------------

$(REL)/%.o: %.c $(HDRS) | check-pkgs
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(REL_CFLAGS) $(CFLAGS) -c $< -o $@

$(REL)/build/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	$(CC) -std=c11 $(REL_CFLAGS) -c $< -o $@

$(REL)/libtocsin.a: $(REL_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

bin/%: $(REL)/libtocsin.a $(REL)/tocsind/tocsind_main.o $(REL)/agents/agent_main.o $(REL)/cli/tocsin_main.o
	@mkdir -p bin
	$(CC) $(REL_CFLAGS) $(LDFLAGS) -o $@ $(REL)/$(basename $(main_of_$*)).o $(REL)/libtocsin.a $(LIBS)

# ---- sanitizer build for tests ------------------------------------------

$(ASAN)/%.o: %.c $(HDRS) | check-pkgs
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(ASAN_CFLAGS) $(CFLAGS) -c $< -o $@

$(ASAN)/build/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	$(CC) -std=c11 $(ASAN_CFLAGS) -c $< -o $@

$(ASAN)/libtocsin.a: $(ASAN_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(ASAN)/bin/%: $(ASAN)/libtocsin.a $(ASAN)/tocsind/tocsind_main.o $(ASAN)/agents/agent_main.o $(ASAN)/cli/tocsin_main.o
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) $(LDFLAGS) -o $@ $(ASAN)/$(basename $(main_of_$*)).o $(ASAN)/libtocsin.a $(LIBS)

$(ASAN)/tests/%: tests/unit/%.c $(ASAN)/libtocsin.a
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(ASAN_CFLAGS) -o $@ $< $(ASAN)/libtocsin.a \
	    $(LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

$(ASAN)/tools/%: tests/tools/%.c $(ASAN)/libtocsin.a
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(ASAN_CFLAGS) -o $@ $< $(ASAN)/libtocsin.a $(LIBS)

# Each libFuzzer target linked with a main that replays its seeds and
# corpus once (tests/fuzz/replay.c): make test needs no clang.
$(ASAN)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $(ASAN)/libtocsin.a
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(ASAN_CFLAGS) -o $@ $< tests/fuzz/replay.c \
	    $(ASAN)/libtocsin.a $(LIBS)

test-build: $(addprefix $(ASAN)/bin/,$(BINS)) \
	    $(patsubst tests/unit/%.c,$(ASAN)/tests/%,$(TEST_SRC)) \
	    $(patsubst tests/tools/%.c,$(ASAN)/tools/%,$(TOOL_SRC)) \
	    $(patsubst tests/fuzz/%.c,$(ASAN)/fuzz/%,$(FUZZ_SRC))

# The tests use the ASan/UBSan build only; the release tree is not built.
test: deps
	@$(MAKE) --no-print-directory test-build
	@sh tests/run.sh

# ---- demo, benchmarks, fuzzing -----------------------------------------

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tests/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(patsubst tests/tools/%.c,$(REL)/tools/%,$(TOOL_SRC))
	@sh tests/bench/run.sh

$(REL)/tools/%: tests/tools/%.c $(REL)/libtocsin.a
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(REL_CFLAGS) -o $@ $< $(REL)/libtocsin.a $(LIBS)

FUZZ	:= build/fuzz
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined
FUZZ_LIB_SRC := $(LIB_SRC) $(GEN_SRC)
$(FUZZ)/%: tests/fuzz/%.c $(FUZZ_LIB_SRC) $(HDRS)
	@mkdir -p $(@D)
	clang $(BASEFLAGS) -Wno-error $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIB_SRC) $(LIBS)

fuzz:
	@sh tests/deps.sh fuzz
	@$(MAKE) --no-print-directory $(patsubst tests/fuzz/%.c,$(FUZZ)/%,$(FUZZ_SRC))
	@sh tests/fuzz/run.sh $(FUZZ) $(FUZZ_SECONDS)

# ---- install -------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/etc/tocsin \
	    $(DESTDIR)$(PREFIX)/share/tocsin/rules
	install -m 0755 $(addprefix bin/,$(BINS)) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|^data_dir:.*|data_dir: /var/lib/tocsin|' \
	    -e 's|- rules/default|- $(PREFIX)/share/tocsin/rules/default|' \
	    etc/tocsind.yml > $(DESTDIR)$(PREFIX)/etc/tocsin/tocsind.yml
	chmod 0644 $(DESTDIR)$(PREFIX)/etc/tocsin/tocsind.yml
	cp -R rules/default $(DESTDIR)$(PREFIX)/share/tocsin/rules/

clean:
	rm -rf build bin

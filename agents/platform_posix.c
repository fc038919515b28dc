/*
 * platform_posix.c - tocsin-agent's platform layer on Linux and other POSIX
 * systems (see platform.h): descriptors and stat(2), signals, the
 * double-fork daemon, sd_notify.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "agents/platform.h"
#include "common/err.h"
#include "common/util.h"
#include "common/yamltree.h"

struct plat_file {
	int		 fd;
};

/* The write end of the pipe the first parent of a daemon waits on. */
static int ready_fd = -1;

const char *plat_error(void)
{
	return strerror(errno);
}

int plat_file_open(const char *path, plat_file_t **out)
{
	struct stat sb;
	plat_file_t *f;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? TS_ENOTFOUND :
		    TS_EIO;
	if (fstat(fd, &sb) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return TS_EIO;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return TS_EINVAL;
	}
	if ((f = malloc(sizeof(*f))) == NULL) {
		close(fd);
		return TS_ENOMEM;
	}
	f->fd = fd;
	*out = f;
	return 0;
}

int plat_file_info(plat_file_t *f, struct plat_file_info *out)
{
	struct stat sb;

	if (fstat(f->fd, &sb) != 0)
		return TS_EIO;
	out->dev = (uint64_t)sb.st_dev;
	out->ino = (uint64_t)sb.st_ino;
	out->size = (uint64_t)sb.st_size;
	return 0;
}

int64_t plat_file_pread(plat_file_t *f, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(f->fd, (char *)buf + got, len - got,
		    (off_t)(off + got));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (int64_t)got;
}

void plat_file_close(plat_file_t **fp)
{
	if (fp == NULL || *fp == NULL)
		return;
	close((*fp)->fd);
	free(*fp);
	*fp = NULL;
}

int plat_path_info(const char *path, struct plat_file_info *out)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return errno == ENOENT || errno == ENOTDIR ? TS_ENOTFOUND :
		    TS_EIO;
	out->dev = (uint64_t)sb.st_dev;
	out->ino = (uint64_t)sb.st_ino;
	out->size = (uint64_t)sb.st_size;
	return 0;
}

int plat_hostname(char *buf, size_t len)
{
	if (len < 2 || gethostname(buf, len - 1) != 0)
		return TS_EIO;
	buf[len - 1] = '\0';
	return buf[0] ? 0 : TS_EIO;
}

uint64_t plat_spool_initial_map(uint64_t full)
{
	return full;
}

static volatile sig_atomic_t *stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	if (stop_flag != NULL)
		*stop_flag = 1;
}

void plat_stop_on_request(volatile sig_atomic_t *stop)
{
	struct sigaction sa;

	stop_flag = stop;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;	/* no SA_RESTART: zmq_poll returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int plat_detach(void)
{
	pid_t pid;
	int fd, p[2];
	char c;

	fflush(NULL);
	if (pipe(p) != 0) {
		log_err("pipe: %s", strerror(errno));
		return TS_EIO;
	}
	if ((pid = fork()) < 0) {
		log_err("fork: %s", strerror(errno));
		return TS_EIO;
	}
	if (pid > 0) {
		ssize_t r;
		close(p[1]);
		do
			r = read(p[0], &c, 1);
		while (r < 0 && errno == EINTR);
		if (r == 1)
			_exit(0);
		fprintf(stderr, "tocsin-agent: start-up failed; see the "
		    "system log\n");
		_exit(1);
	}
	close(p[0]);
	if (setsid() < 0)
		fatal("setsid: %s", strerror(errno));
	if ((pid = fork()) < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	ready_fd = p[1];
	return 0;
}

/* systemd (Type=notify, $NOTIFY_SOCKET; a no-op without it) and the
 * waiting first parent of a daemon. */
void plat_ready(void)
{
	(void)sd_notify(0, "READY=1");
	if (ready_fd >= 0) {
		ssize_t r = write(ready_fd, "1", 1);
		(void)r;
		close(ready_fd);
		ready_fd = -1;
	}
}

/*
 * The configuration holds the agent's secret key: anyone who reads it can
 * ship events as this agent.  Readable by others: refused; by the group: a
 * loud warning.
 */
int plat_config_private_check(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "tocsin-agent: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (st.st_mode & S_IROTH) {
		fprintf(stderr, "tocsin-agent: %s holds this agent's secret "
		    "key but anyone on this machine can read it (mode %04o): "
		    "refusing to start; run `chmod 600 %s`\n", path,
		    (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	if (st.st_mode & S_IRGRP)
		fprintf(stderr, "tocsin-agent: WARNING: %s holds this agent's "
		    "secret key and its group can read it (mode %04o); run "
		    "`chmod 600 %s`\n", path, (unsigned)(st.st_mode & 07777),
		    path);
	return 0;
}

int plat_private_file(const char *path)
{
	(void)path;	/* created with mode 0600 */
	return 0;
}

void plat_oslog_config(void *fp, const char *journal_dir)
{
	fputs("# the systemd journal (units: [...] to read only some)\n"
	    "journal:\n", fp);
	if (journal_dir != NULL) {
		fputs("  directory: ", fp);
		yt_write_quoted(fp, journal_dir);
		fputc('\n', fp);
	}
}

int plat_subcommand(int argc, char **argv, plat_agent_main_cb run_cb)
{
	(void)argc;
	(void)argv;
	(void)run_cb;
	return -1;
}

int plat_is_service(void)
{
	return 0;
}

const char *plat_self_exe(void)
{
	return "/proc/self/exe";
}

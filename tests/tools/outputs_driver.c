/*
 * outputs_driver.c - runs the outputs process of tocsind on its own
 * (outputs_run) for tests, until SIGTERM or SIGINT.
 *
 *   outputs_driver -c SERVER.yml
 *
 * Exit 0 on a clean stop, 1 on a start-up failure, 2 on a usage error.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/util.h"
#include "outputs/outputs.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

int main(int argc, char **argv)
{
	struct server_config cfg;
	struct sigaction sa;
	char err[1024];
	int rc;

	if (argc != 3 || strcmp(argv[1], "-c") != 0) {
		fprintf(stderr, "usage: outputs_driver -c SERVER.yml\n");
		return 2;
	}
	if (server_config_load(argv[2], &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "outputs_driver: %s\n", err);
		return 2;
	}
	log_init("tocsind-outputs", 1, cfg.log_level);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = outputs_run(&cfg, &stop_flag);
	server_config_free(&cfg);
	return rc == 0 ? 0 : 1;
}

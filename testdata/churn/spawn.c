/* spawn: starts RATE processes per second for SECONDS, cycling through the
 * commands given (separated by "--"), and reaps them. Prints
 * "spawned N reaped M failed F" at the end; exits 1 when a child could not
 * be started or did not exit 0.
 *
 *   spawn RATE SECONDS cmd1 args -- cmd2 args -- ...
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long reaped, failed;

static void reap(int options)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, options)) > 0) {
		reaped++;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: spawn RATE SECONDS cmd args [-- cmd args]...\n");
		return 2;
	}
	double rate = atof(argv[1]), seconds = atof(argv[2]);
	if (rate <= 0 || seconds <= 0) {
		fprintf(stderr, "spawn: bad rate or duration\n");
		return 2;
	}
	/* Split the commands in place at each "--". */
	char **cmds[64];
	int ncmds = 0;
	cmds[ncmds++] = &argv[3];
	for (int i = 3; i < argc && ncmds < 64; i++)
		if (!strcmp(argv[i], "--")) {
			argv[i] = NULL;
			if (i + 1 < argc)
				cmds[ncmds++] = &argv[i + 1];
		}
	long spawned = 0, errors = 0;
	double start = now_s();
	while (now_s() - start < seconds) {
		double due = start + spawned / rate;
		double wait = due - now_s();
		if (wait > 0) {
			struct timespec ts = { (time_t)wait, (long)((wait - (time_t)wait) * 1e9) };
			nanosleep(&ts, NULL);
		}
		char **cmd = cmds[spawned % ncmds];
		pid_t pid;
		int err = posix_spawn(&pid, cmd[0], NULL, NULL, cmd, environ);
		if (err) {
			errno = err;
			perror(cmd[0]);
			errors++;
		}
		spawned++;
		reap(WNOHANG);
	}
	reap(0);
	printf("spawned %ld reaped %ld failed %ld\n", spawned, reaped, failed + errors);
	return failed + errors ? 1 : 0;
}

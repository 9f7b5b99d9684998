/* cmd.h -- the llmtap subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit status. */
#ifndef LT_CMD_H
#define LT_CMD_H

#include "../common/lt.h"

int lt_cmd_replay(int argc, char **argv);
int lt_cmd_upload(int argc, char **argv);
int lt_cmd_query(int argc, char **argv);
int lt_cmd_report(int argc, char **argv);
int lt_cmd_proxy(int argc, char **argv);
/* Lets the configuration accept [proxy] and [backend.NAME] (call before any load). */
void lt_cmd_proxy_config_hook(void);
int lt_cmd_run(int argc, char **argv);
int lt_cmd_status(int argc, char **argv);
int lt_cmd_config(int argc, char **argv);

/* Shared by the subcommands that read the spool (query, report; cmd_spool.c).
 * The spool's path (malloc'd): db when given, else the [store] path of the
 * configuration conf (NULL: the default one). NULL with the error printed. */
char *lt_cmd_spool_path(const char *db, const char *conf);
/* --now: ISO 8601 or epoch seconds -> microseconds; -1 if neither. */
int lt_cmd_spool_now(const char *s, lt_time_us *now);

#endif

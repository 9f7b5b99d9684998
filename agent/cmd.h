/* cmd.h -- the llmtap subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit status. */
#ifndef LT_CMD_H
#define LT_CMD_H

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

#endif

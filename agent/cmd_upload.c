/* cmd_upload.c -- `llmtap upload`: drain the spool to Log Analytics once. */
#include <stdio.h>
#include "cmd.h"

int lt_cmd_upload(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "llmtap: upload is not available in this build yet\n");
    return 1;
}

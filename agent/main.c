/* main.c -- the llmtap command line: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: llmtap replay FILE [--db PATH] [--json]\n");
        return argc < 2 ? 2 : 0;
    }
    fprintf(stderr, "llmtap: unknown command '%s'\n", argv[1]);
    return 2;
}

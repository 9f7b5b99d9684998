/* jalloc.h -- jansson's allocations, with a note when one fails.
 *
 * jansson reports a failed allocation only by the NULL or -1 of the call
 * that made it, and code that builds a tree of many values (the Azure OpenAI
 * facts of a call, parsers/aoai.c) would need a check after every set to
 * know that none of its columns went missing. Instead, jansson allocates
 * through lt_jalloc, which notes a failure on the calling thread: a caller
 * clears the note, builds its tree, and asks whether anything was lost
 * (records/record.c then writes no record rather than one without a column,
 * and counts it). Installed once by the program (agent/main.c); without it,
 * jansson allocates as before and no failure is noted. */
#ifndef LT_JALLOC_H
#define LT_JALLOC_H

/* jansson allocates through lt_jalloc from now on (malloc and free). */
void lt_jalloc_install(void);
/* The calling thread's note: cleared, and whether an allocation failed since. */
void lt_jalloc_clear(void);
int lt_jalloc_failed(void);

#endif

/* oom.h -- a note, per thread, that an allocation failed.
 *
 * jansson reports a failed allocation only by the NULL or -1 of the call
 * that made it, and code that builds a tree of many values (the Azure OpenAI
 * facts of a call, parsers/aoai.c) or folds a stream through many small
 * steps would need a check after every one to know that nothing went
 * missing. Instead, jansson allocates through lt_oom's allocator and
 * lt_buf's growth reports to the same note: a caller clears the note, does
 * its work, and asks whether anything was lost (records/record.c then writes
 * no record rather than one without a column; parsers/http_msg.c cuts a
 * streamed body there, as the memory budget would, and says so). The note
 * is installed for jansson once by the program (agent/main.c); without it,
 * jansson's failures go unnoted. Scopes must not nest: a scope that clears
 * the note must not run another. */
#ifndef LT_OOM_H
#define LT_OOM_H

/* jansson allocates through lt_oom from now on (malloc and free). */
void lt_oom_install(void);
/* An allocation failed on this thread (for allocators of our own). */
void lt_oom_note(void);
/* The calling thread's note: cleared, and whether an allocation failed since. */
void lt_oom_clear(void);
int lt_oom_noted(void);

#endif

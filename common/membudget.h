/* membudget.h -- one memory budget for all parser state of the process.
 *
 * Per-structure caps (body_cap, head_cap, reasm_flow_cap, ...) bound one
 * connection; times 65,536 connections they bound nothing useful. This is
 * the one ceiling over all of them: every pipeline (every capture worker) of
 * the process shares one lt_membudget, and each buffer that keeps parser
 * state charges its capacity when it grows and releases it when it is freed
 * (never per byte: an atomic add per reallocation, so the hot path does not
 * change). What may be refused:
 *
 *   LT_MEMBUDGET_BULK   message bodies, content decoders, out-of-order TCP
 *                       bytes: refused past cap - cap/8, so the last eighth
 *                       stays for the state below and new messages can
 *                       still be parsed (their bodies kept truncated);
 *   LT_MEMBUDGET_STATE  message heads, queued exchanges, HTTP/2 streams:
 *                       refused past cap.
 *
 * A refused body is truncated and flagged (reason "memcap") and counted
 * (parser_budget_truncations); a refused head is a parse error. A NULL
 * budget charges nothing and refuses nothing (unit tests, the inline proxy). */
#ifndef LT_MEMBUDGET_H
#define LT_MEMBUDGET_H

#include <stdatomic.h>
#include <stddef.h>
#include "lt.h"

enum { LT_MEMBUDGET_BULK = 0, LT_MEMBUDGET_STATE = 1 };

typedef struct lt_membudget {
    size_t cap;
    atomic_size_t used;
    atomic_size_t high;      /* the largest `used` seen */
    atomic_size_t refusals;  /* charges refused */
} lt_membudget;

lt_membudget *lt_membudget_create(size_t cap);
void lt_membudget_destroy(lt_membudget *mb);
void lt_membudget_init(lt_membudget *mb, size_t cap);
/* Charges n bytes if the level allows it: 0, or -1 (nothing charged). */
int lt_membudget_try_charge(lt_membudget *mb, size_t n, int level);
/* Charges n bytes whatever the level says (memory already allocated). */
void lt_membudget_charge(lt_membudget *mb, size_t n);
void lt_membudget_release(lt_membudget *mb, size_t n);
/* 1 when used is past what the level allows. */
int lt_membudget_over(const lt_membudget *mb, int level);
size_t lt_membudget_used(const lt_membudget *mb);
size_t lt_membudget_high(const lt_membudget *mb);

/* How many of n bytes may be appended to b: all of them when b's capacity
 * suffices or its growth (as lt_buf_reserve would grow it) can be charged
 * (then *charged grows by that much), else what still fits in its current
 * capacity. With a NULL budget: n. */
size_t lt_membudget_buf_room(lt_membudget *mb, const lt_buf *b, size_t n, size_t *charged, int level);
/* After b grew without asking (a buffer that must take its input): charges
 * the growth past *charged, whatever the level says. */
void lt_membudget_buf_sync(lt_membudget *mb, const lt_buf *b, size_t *charged);

#endif

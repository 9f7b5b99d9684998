/* membudget.c -- the process-wide parser memory budget (see membudget.h).
 *
 * Lock-free: a charge adds first and takes back when it went over, so two
 * threads racing for the last bytes may both be refused, never both let
 * through past the cap by more than one of their charges. */
#include <stdlib.h>
#include "membudget.h"

void lt_membudget_init(lt_membudget *mb, size_t cap)
{
    mb->cap = cap;
    atomic_init(&mb->used, 0);
    atomic_init(&mb->high, 0);
    atomic_init(&mb->refusals, 0);
}

lt_membudget *lt_membudget_create(size_t cap)
{
    lt_membudget *mb = malloc(sizeof *mb);
    if (mb) lt_membudget_init(mb, cap);
    return mb;
}

void lt_membudget_destroy(lt_membudget *mb) { free(mb); }

static size_t lt_membudget_limit(const lt_membudget *mb, int level)
{
    return level == LT_MEMBUDGET_STATE ? mb->cap : mb->cap - mb->cap / 8;
}

static void lt_membudget_raise_high(lt_membudget *mb, size_t now)
{
    size_t h = atomic_load_explicit(&mb->high, memory_order_relaxed);
    while (now > h && !atomic_compare_exchange_weak_explicit(&mb->high, &h, now, memory_order_relaxed,
                                                             memory_order_relaxed)) {
    }
}

int lt_membudget_try_charge(lt_membudget *mb, size_t n, int level)
{
    if (!mb || !n) return 0;
    size_t now = atomic_fetch_add_explicit(&mb->used, n, memory_order_relaxed) + n;
    if (now > lt_membudget_limit(mb, level) || now < n) {
        atomic_fetch_sub_explicit(&mb->used, n, memory_order_relaxed);
        atomic_fetch_add_explicit(&mb->refusals, 1, memory_order_relaxed);
        return -1;
    }
    lt_membudget_raise_high(mb, now);
    return 0;
}

void lt_membudget_charge(lt_membudget *mb, size_t n)
{
    if (!mb || !n) return;
    lt_membudget_raise_high(mb, atomic_fetch_add_explicit(&mb->used, n, memory_order_relaxed) + n);
}

void lt_membudget_release(lt_membudget *mb, size_t n)
{
    if (mb && n) atomic_fetch_sub_explicit(&mb->used, n, memory_order_relaxed);
}

int lt_membudget_over(const lt_membudget *mb, int level)
{
    return mb && atomic_load_explicit(&mb->used, memory_order_relaxed) > lt_membudget_limit(mb, level);
}

size_t lt_membudget_used(const lt_membudget *mb) { return mb ? atomic_load(&mb->used) : 0; }
size_t lt_membudget_high(const lt_membudget *mb) { return mb ? atomic_load(&mb->high) : 0; }

size_t lt_membudget_buf_room(lt_membudget *mb, const lt_buf *b, size_t n, size_t *charged, int level)
{
    if (!mb || b->len + n + 1 <= b->cap) return n;
    size_t cap = lt_buf_grown_cap(b, n);
    if (lt_membudget_try_charge(mb, cap - b->cap, level) == 0) {
        *charged += cap - b->cap;
        return n;
    }
    return b->cap > b->len + 1 ? b->cap - b->len - 1 : 0;
}

void lt_membudget_buf_sync(lt_membudget *mb, const lt_buf *b, size_t *charged)
{
    if (!mb || b->cap <= *charged) return;
    lt_membudget_charge(mb, b->cap - *charged);
    *charged = b->cap;
}

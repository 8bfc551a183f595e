/* tandem-event-graph.c: the causal graph of a note's events
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tandem-event-graph.h"

#include <string.h>

typedef struct
{
  guint32 lv;
  guint32 len;
  guint64 peer;
  guint64 seq;
  guint32 parents_offset;   /* into TandemEventGraph.parents */
  guint32 n_parents;
} GraphRun;

/* One peer's events: stretches of consecutive seqs that sit at consecutive lvs. */
typedef struct
{
  guint64 seq;
  guint32 len;
  guint32 lv;
} PeerSpan;

typedef struct
{
  guint64 peer;             /* hash key; must stay first */
  GArray *spans;            /* PeerSpan, sorted by seq */
} PeerIndex;

/* A max-heap of lvs with flags, for walking back from several heads at once. */
typedef struct
{
  guint32 lv;
  guint32 flag;
} HeapEntry;

struct _TandemEventGraph
{
  GArray *runs;             /* GraphRun, sorted by lv */
  GArray *parents;          /* guint32 pool */
  GHashTable *peers;        /* &peer -> PeerIndex */
  GArray *frontier;         /* guint32, sorted: lvs without children */
  TandemVersionVector *version;
  guint32 length;
  PeerIndex *last_peer;     /* most lookups ask for the same peer as the last */
  guint last_run;           /* ... and for the run of the last lv, or a neighbour */
  GArray *heap;             /* scratch for the walks; a graph is used by one thread */
};

static void
peer_index_free (gpointer data)
{
  PeerIndex *index = data;

  g_array_unref (index->spans);
  g_free (index);
}

TandemEventGraph *
tandem_event_graph_new (void)
{
  TandemEventGraph *self = g_new0 (TandemEventGraph, 1);

  self->runs = g_array_new (FALSE, FALSE, sizeof (GraphRun));
  self->parents = g_array_new (FALSE, FALSE, sizeof (guint32));
  self->peers = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, peer_index_free);
  self->frontier = g_array_new (FALSE, FALSE, sizeof (guint32));
  self->version = tandem_version_vector_new ();
  self->heap = g_array_new (FALSE, FALSE, sizeof (HeapEntry));
  return self;
}

void
tandem_event_graph_free (TandemEventGraph *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->runs);
  g_array_unref (self->parents);
  g_hash_table_unref (self->peers);
  g_array_unref (self->frontier);
  tandem_version_vector_free (self->version);
  g_array_unref (self->heap);
  g_free (self);
}

guint32
tandem_event_graph_get_length (const TandemEventGraph *self)
{
  return self->length;
}

guint
tandem_event_graph_get_n_runs (const TandemEventGraph *self)
{
  return self->runs->len;
}

static inline gboolean
run_holds (const TandemEventGraph *self,
           guint                   i,
           guint32                 lv)
{
  const GraphRun *run;

  if (i >= self->runs->len)
    return FALSE;
  run = &g_array_index (self->runs, GraphRun, i);
  return lv >= run->lv && lv < run->lv + run->len;
}

static guint
find_run_index (const TandemEventGraph *self,
                guint32                 lv)
{
  guint lo = 0, hi = self->runs->len;
  guint hint = self->last_run;

  g_assert (lv < self->length);
  /* replay walks the log in order, so the answer is usually close by */
  if (run_holds (self, hint, lv))
    return hint;
  if (run_holds (self, hint + 1, lv))
    return ((TandemEventGraph *) self)->last_run = hint + 1;
  if (hint > 0 && run_holds (self, hint - 1, lv))
    return ((TandemEventGraph *) self)->last_run = hint - 1;
  while (hi - lo > 1)
    {
      guint mid = (lo + hi) / 2;

      if (g_array_index (self->runs, GraphRun, mid).lv <= lv)
        lo = mid;
      else
        hi = mid;
    }
  ((TandemEventGraph *) self)->last_run = lo;
  return lo;
}

/* A run's parents; NULL for none (the pool may not even be allocated). */
static inline const guint32 *
run_parents (const TandemEventGraph *self,
             const GraphRun         *run)
{
  return run->n_parents ? &g_array_index (self->parents, guint32, run->parents_offset) : NULL;
}

static inline const GraphRun *
find_run (const TandemEventGraph *self,
          guint32                 lv)
{
  return &g_array_index (self->runs, GraphRun, find_run_index (self, lv));
}

static inline PeerIndex *
lookup_peer (const TandemEventGraph *self,
             guint64                 peer)
{
  TandemEventGraph *mutable_self = (TandemEventGraph *) self;

  if (self->last_peer == NULL || self->last_peer->peer != peer)
    mutable_self->last_peer = g_hash_table_lookup (self->peers, &peer);
  return self->last_peer;
}

static PeerIndex *
ensure_peer (TandemEventGraph *self,
             guint64           peer)
{
  PeerIndex *index = lookup_peer (self, peer);

  if (index == NULL)
    {
      index = g_new0 (PeerIndex, 1);
      index->peer = peer;
      index->spans = g_array_new (FALSE, FALSE, sizeof (PeerSpan));
      g_hash_table_insert (self->peers, &index->peer, index);
    }
  return index;
}

static void
frontier_advance (TandemEventGraph *self,
                  const guint32    *parents,
                  guint             n_parents,
                  guint32           head)
{
  guint32 *heads = (guint32 *) self->frontier->data;

  /* typing: one head, and the new event follows it */
  if (self->frontier->len == 1 && n_parents == 1 && parents[0] == heads[0])
    {
      heads[0] = head;
      return;
    }
  /* A new event's parents are exactly the frontier events it covers: any
   * other ancestor already has a child, so it is not in the frontier. */
  for (guint i = 0; i < self->frontier->len;)
    {
      guint32 f = g_array_index (self->frontier, guint32, i);
      gboolean covered = FALSE;

      for (guint j = 0; j < n_parents && !covered; j++)
        covered = parents[j] == f;
      if (covered)
        g_array_remove_index (self->frontier, i);
      else
        i++;
    }
  /* head is the greatest lv so far: appending keeps the array sorted */
  g_array_append_val (self->frontier, head);
}

/**
 * tandem_event_graph_add:
 * @peer: the author
 * @seq: the seq of the first event; it must be the next one unseen from @peer
 * @len: the number of events, at least 1
 * @parents: (array length=n_parents): the lvs of the first event's parents
 * @n_parents: how many; 0 for an event on the empty document
 *
 * Appends @len events; event k > 0 has event k - 1 as its only parent.
 * The caller has checked that the parents are known.
 *
 * Returns: the lv of the first event
 */
guint32
tandem_event_graph_add (TandemEventGraph *self,
                        guint64           peer,
                        guint64           seq,
                        guint32           len,
                        const guint32    *parents,
                        guint             n_parents)
{
  guint32 lv = self->length;
  PeerIndex *index;
  GraphRun *last = self->runs->len ? &g_array_index (self->runs, GraphRun, self->runs->len - 1) : NULL;

  g_assert (len > 0);
  g_assert (seq == tandem_version_vector_get (self->version, peer));
  g_assert ((guint64) lv + len < TANDEM_LV_NONE);

  if (last != NULL && n_parents == 1 && parents[0] == lv - 1 &&
      last->peer == peer && last->seq + last->len == seq)
    {
      last->len += len;
    }
  else
    {
      GraphRun run = { lv, len, peer, seq, self->parents->len, n_parents };

      g_array_append_vals (self->parents, parents, n_parents);
      g_array_append_val (self->runs, run);
    }

  index = ensure_peer (self, peer);
  if (index->spans->len > 0)
    {
      PeerSpan *span = &g_array_index (index->spans, PeerSpan, index->spans->len - 1);

      if (span->seq + span->len == seq && span->lv + span->len == lv)
        span->len += len;
      else
        {
          PeerSpan s = { seq, len, lv };
          g_array_append_val (index->spans, s);
        }
    }
  else
    {
      PeerSpan s = { seq, len, lv };
      g_array_append_val (index->spans, s);
    }

  frontier_advance (self, parents, n_parents, lv + len - 1);
  tandem_version_vector_set (self->version, peer, seq + len);
  self->length = lv + len;
  return lv;
}

static int
compare_lv_descending (gconstpointer a,
                       gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;

  return x < y ? 1 : x > y ? -1 : 0;
}

/**
 * tandem_event_graph_truncate:
 * @length: the number of events to keep
 *
 * Forgets the events from @length on, which must be the latest ones added,
 * and restores the frontier they replaced. Used to roll back an event that
 * failed validation during a merge.
 */
void
tandem_event_graph_truncate (TandemEventGraph *self,
                             guint32           length)
{
  g_autoptr(GArray) restored = g_array_new (FALSE, FALSE, sizeof (guint32));

  g_return_if_fail (length <= self->length);

  while (self->length > length)
    {
      GraphRun *run = &g_array_index (self->runs, GraphRun, self->runs->len - 1);
      guint32 keep = run->lv < length ? length - run->lv : 0;
      guint32 drop = run->len - keep;
      PeerIndex *index = lookup_peer (self, run->peer);
      PeerSpan *span = &g_array_index (index->spans, PeerSpan, index->spans->len - 1);

      span->len -= drop;
      if (span->len == 0)
        g_array_set_size (index->spans, index->spans->len - 1);
      tandem_version_vector_set (self->version, run->peer, run->seq + keep);

      /* The frontier loses the dropped events and regains their parents
       * that are still without children. */
      if (keep == 0)
        g_array_append_vals (restored,
                             run_parents (self, run),
                             run->n_parents);
      else
        g_array_append_val (restored, (guint32) { run->lv + keep - 1 });

      self->length -= drop;
      if (keep == 0)
        {
          g_array_set_size (self->parents, run->parents_offset);
          g_array_set_size (self->runs, self->runs->len - 1);
        }
      else
        run->len = keep;
    }

  for (guint i = 0; i < self->frontier->len;)
    if (g_array_index (self->frontier, guint32, i) >= length)
      g_array_remove_index (self->frontier, i);
    else
      i++;

  /* Newest first, so that a candidate below another one is seen to be its
   * ancestor. */
  g_array_sort (restored, compare_lv_descending);
  for (guint i = 0; i < restored->len; i++)
    {
      guint32 p = g_array_index (restored, guint32, i);
      gboolean covered = FALSE;

      if (p >= length)
        continue;
      /* a restored parent is a head unless a head is it or descends from it */
      for (guint j = 0; j < self->frontier->len && !covered; j++)
        covered = tandem_event_graph_is_ancestor (self, p, g_array_index (self->frontier, guint32, j));
      if (!covered)
        {
          guint k = 0;

          while (k < self->frontier->len && g_array_index (self->frontier, guint32, k) < p)
            k++;
          g_array_insert_val (self->frontier, k, p);
        }
    }
}

/**
 * tandem_event_graph_find:
 *
 * Returns: the lv of @id, or %TANDEM_LV_NONE when it is unknown
 */
guint32
tandem_event_graph_find (const TandemEventGraph *self,
                         const TandemEventId    *id)
{
  PeerIndex *index = lookup_peer (self, id->peer);
  guint lo = 0, hi;

  if (index == NULL || index->spans->len == 0)
    return TANDEM_LV_NONE;
  hi = index->spans->len;
  while (hi - lo > 1)
    {
      guint mid = (lo + hi) / 2;

      if (g_array_index (index->spans, PeerSpan, mid).seq <= id->seq)
        lo = mid;
      else
        hi = mid;
    }
  {
    const PeerSpan *span = &g_array_index (index->spans, PeerSpan, lo);

    if (id->seq < span->seq || id->seq >= span->seq + span->len)
      return TANDEM_LV_NONE;
    return span->lv + (guint32) (id->seq - span->seq);
  }
}

TandemEventId
tandem_event_graph_get_id (const TandemEventGraph *self,
                           guint32                 lv)
{
  const GraphRun *run = find_run (self, lv);

  return (TandemEventId) { run->peer, run->seq + (lv - run->lv) };
}

/**
 * tandem_event_graph_get_parents:
 * @run_start: (out): the first lv of the run holding @lv
 *
 * Returns the parents of the run's first event. When @lv is not the first
 * event of its run, its only parent is @lv - 1 and the caller should use that.
 */
const guint32 *
tandem_event_graph_get_parents (const TandemEventGraph *self,
                                guint32                 lv,
                                guint                  *n_parents,
                                guint32                *run_start)
{
  const GraphRun *run = find_run (self, lv);

  *n_parents = run->n_parents;
  *run_start = run->lv;
  return run_parents (self, run);
}

/* One past the last lv of the run holding @lv. */
guint32
tandem_event_graph_get_run_end (const TandemEventGraph *self,
                                guint32                 lv)
{
  const GraphRun *run = find_run (self, lv);

  return run->lv + run->len;
}

const guint32 *
tandem_event_graph_get_frontier (const TandemEventGraph *self,
                                 guint                  *n_frontier)
{
  *n_frontier = self->frontier->len;
  return (const guint32 *) self->frontier->data;
}

const TandemVersionVector *
tandem_event_graph_get_version (const TandemEventGraph *self)
{
  return self->version;
}

/* @lvs need not be sorted. */
gboolean
tandem_event_graph_frontier_equals (const TandemEventGraph *self,
                                    const guint32          *lvs,
                                    guint                   n_lvs)
{
  if (n_lvs != self->frontier->len)
    return FALSE;
  for (guint i = 0; i < n_lvs; i++)
    {
      gboolean found = FALSE;

      for (guint j = 0; j < self->frontier->len && !found; j++)
        found = g_array_index (self->frontier, guint32, j) == lvs[i];
      if (!found)
        return FALSE;
    }
  return TRUE;
}

/* ---- walks over the graph, newest first ------------------------------ */


static void
heap_push (GArray  *heap,
           guint32  lv,
           guint32  flag)
{
  HeapEntry e = { lv, flag };
  guint i = heap->len;
  HeapEntry *h;

  g_array_append_val (heap, e);
  h = (HeapEntry *) heap->data;
  while (i > 0)
    {
      guint parent = (i - 1) / 2;

      if (h[parent].lv >= h[i].lv)
        break;
      e = h[parent];
      h[parent] = h[i];
      h[i] = e;
      i = parent;
    }
}

static HeapEntry
heap_pop (GArray *heap)
{
  HeapEntry *h = (HeapEntry *) heap->data;
  HeapEntry top = h[0];
  guint n = heap->len - 1;
  guint i = 0;

  h[0] = h[n];
  g_array_set_size (heap, n);
  for (;;)
    {
      guint l = 2 * i + 1, r = l + 1, m = i;
      HeapEntry t;

      if (l < n && h[l].lv > h[m].lv)
        m = l;
      if (r < n && h[r].lv > h[m].lv)
        m = r;
      if (m == i)
        break;
      t = h[m];
      h[m] = h[i];
      h[i] = t;
      i = m;
    }
  return top;
}

static inline guint32
heap_top (GArray *heap)
{
  return g_array_index (heap, HeapEntry, 0).lv;
}

/* The walks below never nest, so they share one array. */
static GArray *
scratch_heap (const TandemEventGraph *self)
{
  g_array_set_size (self->heap, 0);
  return self->heap;
}

enum { ONLY_A = 1, ONLY_B = 2, SHARED = 3 };

static void
push_range (GArray  *out,
            guint32  start,
            guint32  end)
{
  TandemLvRange r = { start, end };

  if (out == NULL || start >= end)
    return;
  /* Ranges come newest first; coalesce neighbours. */
  if (out->len > 0)
    {
      TandemLvRange *last = &g_array_index (out, TandemLvRange, out->len - 1);

      if (last->start == end)
        {
          last->start = start;
          return;
        }
    }
  g_array_append_val (out, r);
}

/**
 * tandem_event_graph_diff:
 * @only_a: (out) (element-type TandemLvRange): events of version @a not in @b
 * @only_b: (out) (element-type TandemLvRange): events of version @b not in @a
 *
 * Walks back from both versions at once, newest first, and stops as soon as
 * everything left to visit is shared, so the cost is the size of the
 * difference, not of the history. Ranges come out newest first.
 */
void
tandem_event_graph_diff (const TandemEventGraph *self,
                         const guint32          *a,
                         guint                   n_a,
                         const guint32          *b,
                         guint                   n_b,
                         GArray                 *only_a,
                         GArray                 *only_b)
{
  GArray *heap = scratch_heap (self);
  guint n_unshared = 0;

  for (guint i = 0; i < n_a; i++)
    heap_push (heap, a[i], ONLY_A), n_unshared++;
  for (guint i = 0; i < n_b; i++)
    heap_push (heap, b[i], ONLY_B), n_unshared++;

  while (heap->len > 0 && n_unshared > 0)
    {
      HeapEntry e = heap_pop (heap);
      guint32 flag = e.flag;
      guint32 cur = e.lv;
      const GraphRun *run;
      const guint32 *parents;

      if (e.flag != SHARED)
        n_unshared--;
      while (heap->len > 0 && heap_top (heap) == cur)
        {
          HeapEntry d = heap_pop (heap);

          if (d.flag != SHARED)
            n_unshared--;
          flag |= d.flag;
        }

      run = find_run (self, cur);
      /* Other heads inside this run are ancestors of cur along the run. */
      while (heap->len > 0 && heap_top (heap) >= run->lv)
        {
          HeapEntry d = heap_pop (heap);

          if (d.flag != SHARED)
            n_unshared--;
          if (flag == ONLY_A)
            push_range (only_a, d.lv + 1, cur + 1);
          else if (flag == ONLY_B)
            push_range (only_b, d.lv + 1, cur + 1);
          flag |= d.flag;
          cur = d.lv;
        }
      if (flag == ONLY_A)
        push_range (only_a, run->lv, cur + 1);
      else if (flag == ONLY_B)
        push_range (only_b, run->lv, cur + 1);

      parents = run_parents (self, run);
      for (guint i = 0; i < run->n_parents; i++)
        {
          heap_push (heap, parents[i], flag);
          if (flag != SHARED)
            n_unshared++;
        }
    }
}

/**
 * tandem_event_graph_find_dominator:
 * @heads: (array length=n_heads): the versions being merged, at least two lvs
 *
 * Finds the newest event c that every path from @heads to the root passes
 * through. Every event older than c is then an ancestor of c and every newer
 * one descends from it, so the version {c} is a critical version for the
 * merge and replay can start there.
 *
 * Returns: c, or %TANDEM_LV_NONE when the histories only meet at the empty
 *   document
 */
guint32
tandem_event_graph_find_dominator (const TandemEventGraph *self,
                                   const guint32          *heads,
                                   guint                   n_heads)
{
  GArray *heap = scratch_heap (self);

  for (guint i = 0; i < n_heads; i++)
    heap_push (heap, heads[i], 0);

  while (heap->len > 0)
    {
      guint32 cur = heap_pop (heap).lv;
      const GraphRun *run;
      const guint32 *parents;

      while (heap->len > 0 && heap_top (heap) == cur)
        heap_pop (heap);
      if (heap->len == 0)
        return cur;

      run = find_run (self, cur);
      while (heap->len > 0 && heap_top (heap) >= run->lv)
        {
          cur = heap_pop (heap).lv;
          while (heap->len > 0 && heap_top (heap) == cur)
            heap_pop (heap);
          if (heap->len == 0)
            return cur;
        }
      if (run->n_parents == 0)
        return TANDEM_LV_NONE;
      parents = run_parents (self, run);
      for (guint i = 0; i < run->n_parents; i++)
        heap_push (heap, parents[i], 0);
    }
  return TANDEM_LV_NONE;
}

/**
 * tandem_event_graph_version_at:
 * @lvs: (array length=n_lvs): a version, as its heads
 *
 * Returns: (transfer full): the version vector of the events in @lvs and
 *   their ancestors
 */
TandemVersionVector *
tandem_event_graph_version_at (const TandemEventGraph *self,
                               const guint32          *lvs,
                               guint                   n_lvs)
{
  TandemVersionVector *vv = tandem_version_vector_copy (self->version);
  g_autoptr(GArray) only_frontier = g_array_new (FALSE, FALSE, sizeof (TandemLvRange));

  /* The events not in @lvs are a difference from the frontier; each peer's
   * own events form a chain, so the lowest missing seq bounds its count. */
  tandem_event_graph_diff (self, (const guint32 *) self->frontier->data, self->frontier->len,
                           lvs, n_lvs, only_frontier, NULL);
  for (guint i = 0; i < only_frontier->len; i++)
    {
      TandemLvRange *r = &g_array_index (only_frontier, TandemLvRange, i);
      guint32 lv = r->start;

      while (lv < r->end)
        {
          const GraphRun *run = find_run (self, lv);
          guint64 seq = run->seq + (lv - run->lv);

          if (seq < tandem_version_vector_get (vv, run->peer))
            tandem_version_vector_set (vv, run->peer, seq);
          lv = MIN (r->end, run->lv + run->len);
        }
    }
  return vv;
}

/* TRUE when @ancestor is @lv or one of its ancestors. */
gboolean
tandem_event_graph_is_ancestor (const TandemEventGraph *self,
                                guint32                 ancestor,
                                guint32                 lv)
{
  GArray *heap;

  if (ancestor == lv)
    return TRUE;
  if (ancestor > lv)
    return FALSE;

  heap = scratch_heap (self);
  heap_push (heap, lv, 0);
  while (heap->len > 0)
    {
      guint32 cur = heap_pop (heap).lv;
      const GraphRun *run;
      const guint32 *parents;

      while (heap->len > 0 && heap_top (heap) == cur)
        heap_pop (heap);
      run = find_run (self, cur);
      if (ancestor >= run->lv && ancestor <= cur)
        return TRUE;
      while (heap->len > 0 && heap_top (heap) >= run->lv)
        heap_pop (heap);
      parents = run_parents (self, run);
      for (guint i = 0; i < run->n_parents; i++)
        if (parents[i] >= ancestor)
          heap_push (heap, parents[i], 0);
    }
  return FALSE;
}

gsize
tandem_event_graph_get_memory_size (const TandemEventGraph *self)
{
  gsize size = sizeof *self;
  GHashTableIter iter;
  gpointer value;

  size += self->runs->len * sizeof (GraphRun);
  size += self->parents->len * sizeof (guint32);
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    size += sizeof (PeerIndex) + ((PeerIndex *) value)->spans->len * sizeof (PeerSpan);
  return size;
}

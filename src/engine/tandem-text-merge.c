/* tandem-text-merge.c: Eg-walker replay of concurrent text events
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * When events arrive that are concurrent with the document's version, the
 * events since the newest version every head descends from (a critical
 * version, found by tandem_event_graph_find_dominator()) are replayed
 * through a temporary sequence of items: one item per run of characters,
 * each with its prepare state (not yet inserted, inserted, or deleted n
 * times, at the version of the event being replayed) and its effect state
 * (deleted or not in the document as it is). The characters that existed at
 * the critical version stand in as one placeholder item. Replaying an old
 * event only updates the items; replaying a new one also yields the
 * operation, transformed to the current document, that the caller applies.
 * Then the items are dropped. See Gentle & Kleppmann, "Collaborative Text
 * Editing with Eg-walker", EuroSys 2025, §3.
 *
 * The items sit in a treap (a randomized balanced binary tree) whose nodes
 * count the characters of their subtree three ways: all, visible at the
 * prepare version, visible in the effect document. Seeking a position and
 * turning an item into a position are O(log n). Concurrent inserts at one
 * place are ordered by the Fugue-max rule (YjsMod), lower event id to the
 * left, which keeps runs of typing from interleaving.
 */
#include "tandem-text-merge.h"

#include "tandem-engine-error.h"

#include <string.h>

#define NOT_YET_INSERTED (-1)
#define INSERTED 0
#define ID_NONE G_MAXUINT32
#define PLACEHOLDER_BIT 0x80000000u
#define ITEMS_PER_CHUNK 512

typedef struct _Item Item;

struct _Item
{
  Item *parent;
  Item *left;
  Item *right;
  guint32 priority;
  /* Characters id .. id + len - 1. An id is an lv, or PLACEHOLDER_BIT + k
   * for the k-th character of the document at the critical version. */
  guint32 id;
  guint32 len;
  /* Of the first character; character k > 0 has character k - 1 as its
   * left origin and no right parent. */
  guint32 origin_left;
  guint32 right_parent;
  gint32 state;
  gboolean effect_deleted;
  guint32 sum_len;
  guint32 sum_prepare;
  guint32 sum_effect;
};

/* Which characters the delete events lv .. lv + len - 1 removed. */
typedef struct
{
  guint32 lv;
  guint32 len;
  guint32 target;       /* the character the first event removed */
  gboolean backward;    /* event k removed target - k, not target + k */
} DeleteTarget;

typedef struct
{
  const TandemEventGraph *graph;
  TandemOpLog *ops;
  Item *root;
  GPtrArray *chunks;
  guint chunk;                /* the chunk being filled */
  guint chunk_used;
  guint32 rng;
  guint32 first_lv;           /* the first lv replayed */
  Item **item_of_lv;          /* indexed by lv - first_lv */
  GTree *placeholders;        /* first id -> Item*, for the placeholder's pieces */
  GArray *deletes;            /* DeleteTarget, sorted by lv */
  GArray *version;            /* guint32 heads of the prepare version */
  GArray *scratch_gone;
  GArray *scratch_added;
  TandemTextEmitFunc emit;
  gpointer user_data;
} MergeContext;

/* ---- the treap ------------------------------------------------------- */

static inline guint32
own_prepare (const Item *item)
{
  return item->state == INSERTED ? item->len : 0;
}

static inline guint32
own_effect (const Item *item)
{
  return item->effect_deleted ? 0 : item->len;
}

static inline void
update_sums (Item *item)
{
  item->sum_len = item->len;
  item->sum_prepare = own_prepare (item);
  item->sum_effect = own_effect (item);
  if (item->left != NULL)
    {
      item->sum_len += item->left->sum_len;
      item->sum_prepare += item->left->sum_prepare;
      item->sum_effect += item->left->sum_effect;
    }
  if (item->right != NULL)
    {
      item->sum_len += item->right->sum_len;
      item->sum_prepare += item->right->sum_prepare;
      item->sum_effect += item->right->sum_effect;
    }
}

/* Adds to the counts of @from and every node above it: a change that
 * leaves the shape alone costs a few adds per level. */
static inline void
add_to_path (Item    *from,
             gint32   len,
             gint32   prepare,
             gint32   effect)
{
  for (; from != NULL; from = from->parent)
    {
      from->sum_len += len;
      from->sum_prepare += prepare;
      from->sum_effect += effect;
    }
}

static inline void
set_state (Item   *item,
           gint32  state)
{
  gint32 before = own_prepare (item);

  item->state = state;
  if ((gint32) own_prepare (item) != before)
    add_to_path (item, 0, (gint32) own_prepare (item) - before, 0);
}

static Item *
item_new (MergeContext *ctx)
{
  Item *item;

  if (ctx->chunk_used == ITEMS_PER_CHUNK)
    {
      ctx->chunk++;
      ctx->chunk_used = 0;
    }
  if (ctx->chunk == ctx->chunks->len)
    g_ptr_array_add (ctx->chunks, g_new (Item, ITEMS_PER_CHUNK));
  item = &((Item *) g_ptr_array_index (ctx->chunks, ctx->chunk))[ctx->chunk_used++];
  memset (item, 0, sizeof *item);
  /* xorshift: merges are reproducible, which keeps failures replayable */
  ctx->rng ^= ctx->rng << 13;
  ctx->rng ^= ctx->rng >> 17;
  ctx->rng ^= ctx->rng << 5;
  item->priority = ctx->rng;
  return item;
}

static void
rotate_up (MergeContext *ctx,
           Item         *x)
{
  Item *p = x->parent;
  Item *g = p->parent;

  if (p->left == x)
    {
      p->left = x->right;
      if (x->right != NULL)
        x->right->parent = p;
      x->right = p;
    }
  else
    {
      p->right = x->left;
      if (x->left != NULL)
        x->left->parent = p;
      x->left = p;
    }
  p->parent = x;
  x->parent = g;
  if (g == NULL)
    ctx->root = x;
  else if (g->left == p)
    g->left = x;
  else
    g->right = x;
  update_sums (p);
  update_sums (x);
}

static Item *
first_item (Item *item)
{
  if (item == NULL)
    return NULL;
  while (item->left != NULL)
    item = item->left;
  return item;
}

static Item *
next_item (Item *item)
{
  if (item->right != NULL)
    return first_item (item->right);
  while (item->parent != NULL && item->parent->right == item)
    item = item->parent;
  return item->parent;
}

/* Inserts @item just before @before, or at the end when @before is NULL. */
static void
insert_before (MergeContext *ctx,
               Item         *before,
               Item         *item)
{
  Item *parent;

  if (ctx->root == NULL)
    {
      ctx->root = item;
      update_sums (item);
      return;
    }
  if (before == NULL)
    {
      parent = ctx->root;
      while (parent->right != NULL)
        parent = parent->right;
      parent->right = item;
    }
  else if (before->left == NULL)
    {
      parent = before;
      parent->left = item;
    }
  else
    {
      parent = before->left;
      while (parent->right != NULL)
        parent = parent->right;
      parent->right = item;
    }
  item->parent = parent;
  update_sums (item);
  add_to_path (parent, item->sum_len, item->sum_prepare, item->sum_effect);
  while (item->parent != NULL && item->parent->priority < item->priority)
    rotate_up (ctx, item);
}

/* Puts @item, just cut from the end of @after, right after it. @after's
 * subtree holds the same characters as before, so only the nodes between
 * the two gain @item's counts. */
static void
insert_after (MergeContext *ctx,
              Item         *after,
              Item         *item)
{
  Item *parent;

  if (after->right == NULL)
    {
      after->right = item;
      parent = after;
    }
  else
    {
      parent = first_item (after->right);
      parent->left = item;
    }
  item->parent = parent;
  update_sums (item);
  for (Item *x = parent; x != after; x = x->parent)
    {
      x->sum_len += item->sum_len;
      x->sum_prepare += item->sum_prepare;
      x->sum_effect += item->sum_effect;
    }
  /* after itself: its own share shrank by what moved into item */
  update_sums (after);
  while (item->parent != NULL && item->parent->priority < item->priority)
    rotate_up (ctx, item);
}

/* Characters before @item in sequence order: all of them, and those
 * visible in the effect document. */
static void
item_rank (const Item *item,
           guint32    *rank,
           guint32    *effect_rank)
{
  guint32 r = item->left ? item->left->sum_len : 0;
  guint32 e = item->left ? item->left->sum_effect : 0;

  for (; item->parent != NULL; item = item->parent)
    if (item->parent->right == item)
      {
        const Item *p = item->parent;

        r += p->len + (p->left ? p->left->sum_len : 0);
        e += own_effect (p) + (p->left ? p->left->sum_effect : 0);
      }
  if (rank != NULL)
    *rank = r;
  if (effect_rank != NULL)
    *effect_rank = e;
}

/* The item holding the @pos-th (0-based) character visible at the prepare
 * version, and the character's offset in it. */
static Item *
find_prepare (MergeContext *ctx,
              guint32       pos,
              guint32      *offset)
{
  Item *x = ctx->root;

  while (x != NULL)
    {
      guint32 left = x->left ? x->left->sum_prepare : 0;

      if (pos < left)
        x = x->left;
      else
        {
          pos -= left;
          if (pos < own_prepare (x))
            {
              *offset = pos;
              return x;
            }
          pos -= own_prepare (x);
          x = x->right;
        }
    }
  g_assert_not_reached ();
}

/* ---- finding items by character id ----------------------------------- */

static int
compare_ids (gconstpointer a,
             gconstpointer b,
             gpointer      user_data)
{
  guint32 x = GPOINTER_TO_UINT (a), y = GPOINTER_TO_UINT (b);

  return x < y ? -1 : x > y;
}

/* The placeholder's pieces keep their order, so the piece holding @id is
 * the one with the greatest first id not above it. */
static Item *
find_placeholder (MergeContext *ctx,
                  guint32       id)
{
  GTreeNode *node = g_tree_upper_bound (ctx->placeholders, GUINT_TO_POINTER (id));

  node = node ? g_tree_node_previous (node) : g_tree_node_last (ctx->placeholders);
  return g_tree_node_value (node);
}

static void
add_placeholder (MergeContext *ctx,
                 Item         *piece)
{
  g_tree_insert (ctx->placeholders, GUINT_TO_POINTER (piece->id), piece);
}

static inline Item *
find_item (MergeContext *ctx,
           guint32       id)
{
  if (id & PLACEHOLDER_BIT)
    return find_placeholder (ctx, id);
  return ctx->item_of_lv[id - ctx->first_lv];
}

static guint32
id_rank (MergeContext *ctx,
         guint32       id)
{
  Item *item = find_item (ctx, id);
  guint32 rank;

  item_rank (item, &rank, NULL);
  return rank + (id - item->id);
}

/* Splits @item so that it ends before its @offset-th character; returns the
 * new item holding the rest. */
static Item *
split_item (MergeContext *ctx,
            Item         *item,
            guint32       offset)
{
  Item *rest = item_new (ctx);

  g_assert (offset > 0 && offset < item->len);
  rest->id = item->id + offset;
  rest->len = item->len - offset;
  rest->origin_left = rest->id - 1;
  rest->right_parent = ID_NONE;
  rest->state = item->state;
  rest->effect_deleted = item->effect_deleted;
  item->len = offset;
  insert_after (ctx, item, rest);

  if (rest->id & PLACEHOLDER_BIT)
    {
      add_placeholder (ctx, rest);
    }
  else
    {
      for (guint32 k = 0; k < rest->len; k++)
        ctx->item_of_lv[rest->id + k - ctx->first_lv] = rest;
    }
  return rest;
}

/* The item holding exactly characters @offset .. @offset + n - 1 of
 * @item for some n >= 1 and n <= *@len, splitting as needed; *@len is set
 * to n. */
static Item *
isolate_at (MergeContext *ctx,
            Item         *item,
            guint32       offset,
            guint32      *len)
{
  if (offset > 0)
    item = split_item (ctx, item, offset);
  if (*len < item->len)
    split_item (ctx, item, *len);
  else
    *len = item->len;
  return item;
}

static Item *
isolate (MergeContext *ctx,
         guint32       id,
         guint32      *len)
{
  Item *item = find_item (ctx, id);

  return isolate_at (ctx, item, id - item->id, len);
}

static void
change_state (MergeContext *ctx,
              guint32       id,
              guint32       len,
              gint32        delta)
{
  while (len > 0)
    {
      guint32 n = len;
      Item *item = isolate (ctx, id, &n);

      set_state (item, item->state + delta);
      g_assert (item->state >= NOT_YET_INSERTED);
      id += n;
      len -= n;
    }
}

static guint
find_delete (MergeContext *ctx,
             guint32       lv)
{
  guint lo = 0, hi = ctx->deletes->len;

  while (hi - lo > 1)
    {
      guint mid = (lo + hi) / 2;

      if (g_array_index (ctx->deletes, DeleteTarget, mid).lv <= lv)
        lo = mid;
      else
        hi = mid;
    }
  return lo;
}

/* Moves the prepare version back (@delta -1) or forward (+1) over the
 * events @start .. @end - 1. */
static void
retreat_or_advance (MergeContext *ctx,
                    guint32       start,
                    guint32       end,
                    gint32        delta)
{
  guint index = tandem_op_log_find_index (ctx->ops, start);

  while (start < end)
    {
      const TandemOpRun *run = tandem_op_log_get_run (ctx->ops, index++);
      guint32 stop = MIN (end, run->lv + run->len);

      if (run->kind == TANDEM_OP_INSERT)
        change_state (ctx, start, stop - start, delta);
      else if (run->kind != TANDEM_OP_FIELD)
        {
          guint i = find_delete (ctx, start);
          guint32 lv = start;

          while (lv < stop)
            {
              const DeleteTarget *d = &g_array_index (ctx->deletes, DeleteTarget, i++);
              guint32 from = MAX (lv, d->lv);
              guint32 to = MIN (stop, d->lv + d->len);

              g_assert (from < to);
              if (d->backward)
                change_state (ctx, d->target - (to - 1 - d->lv), to - from, delta);
              else
                change_state (ctx, d->target + (from - d->lv), to - from, delta);
              lv = to;
            }
        }
      start = stop;
    }
}

static void
move_version (MergeContext  *ctx,
              const guint32 *parents,
              guint          n_parents)
{
  if (n_parents == ctx->version->len)
    {
      gboolean same = TRUE;

      for (guint i = 0; i < n_parents && same; i++)
        same = g_array_index (ctx->version, guint32, i) == parents[i];
      if (same)
        return;
    }

  g_array_set_size (ctx->scratch_gone, 0);
  g_array_set_size (ctx->scratch_added, 0);
  tandem_event_graph_diff (ctx->graph,
                           (const guint32 *) ctx->version->data, ctx->version->len,
                           parents, n_parents,
                           ctx->scratch_gone, ctx->scratch_added);
  for (guint i = 0; i < ctx->scratch_gone->len; i++)
    {
      TandemLvRange *r = &g_array_index (ctx->scratch_gone, TandemLvRange, i);
      retreat_or_advance (ctx, r->start, r->end, -1);
    }
  for (guint i = ctx->scratch_added->len; i > 0; i--)
    {
      TandemLvRange *r = &g_array_index (ctx->scratch_added, TandemLvRange, i - 1);
      retreat_or_advance (ctx, r->start, r->end, +1);
    }
}

/* ---- replaying one run of events ------------------------------------- */

static gboolean
id_less (MergeContext *ctx,
         guint32       a,
         guint32       b)
{
  TandemEventId ia = tandem_event_graph_get_id (ctx->graph, a);
  TandemEventId ib = tandem_event_graph_get_id (ctx->graph, b);

  return tandem_event_id_compare (&ia, &ib) < 0;
}

static void
apply_insert (MergeContext *ctx,
              guint32       lv,
              guint32       len,
              guint32       pos,
              const char   *text,
              gsize         n_bytes,
              gboolean      emit)
{
  Item *item = item_new (ctx);
  Item *dest;
  Item *scan;
  guint32 origin_left = ID_NONE;
  guint32 right_parent = ID_NONE;
  guint32 effect_pos;

  if (pos == 0)
    dest = first_item (ctx->root);
  else
    {
      guint32 offset;
      Item *left = find_prepare (ctx, pos - 1, &offset);

      if (offset + 1 < left->len)
        split_item (ctx, left, offset + 1);
      origin_left = left->id + offset;
      dest = next_item (left);
    }

  /* The Fugue right parent: the next character present at this version,
   * if it shares our left origin. */
  for (scan = dest; scan != NULL && scan->state == NOT_YET_INSERTED; scan = next_item (scan))
    ;
  if (scan != NULL && scan->origin_left == origin_left)
    right_parent = scan->id;

  /* Skip the concurrent inserts here that belong to our left. */
  if (dest != NULL && dest->state == NOT_YET_INSERTED)
    {
      gint64 left_rank = origin_left == ID_NONE ? -1 : (gint64) id_rank (ctx, origin_left);
      gint64 right_rank = right_parent == ID_NONE ? G_MAXINT64 : id_rank (ctx, right_parent);
      gboolean scanning = FALSE;

      for (scan = dest; scan != NULL && scan->state == NOT_YET_INSERTED;)
        {
          gint64 other_left = scan->origin_left == ID_NONE ? -1 : (gint64) id_rank (ctx, scan->origin_left);

          if (other_left < left_rank)
            break;
          if (other_left == left_rank)
            {
              gint64 other_right = scan->right_parent == ID_NONE ? G_MAXINT64
                                                                 : id_rank (ctx, scan->right_parent);

              if (other_right == right_rank && id_less (ctx, lv, scan->id))
                break;
              scanning = other_right < right_rank;
            }
          scan = next_item (scan);
          if (!scanning)
            dest = scan;
        }
    }

  item->id = lv;
  item->len = len;
  item->origin_left = origin_left;
  item->right_parent = right_parent;
  item->state = INSERTED;
  insert_before (ctx, dest, item);
  for (guint32 k = 0; k < len; k++)
    ctx->item_of_lv[lv + k - ctx->first_lv] = item;

  if (emit)
    {
      item_rank (item, NULL, &effect_pos);
      ctx->emit (TANDEM_OP_INSERT, effect_pos, len, text, n_bytes, ctx->user_data);
    }
}

/* Deletes the @len characters visible at prepare positions @pos onwards;
 * event k of the run deletes the k-th of them, or with @backward the
 * (len - 1 - k)-th. */
static void
apply_delete (MergeContext *ctx,
              guint32       lv,
              guint32       len,
              guint32       pos,
              gboolean      backward,
              gboolean      emit)
{
  guint first_new = ctx->deletes->len;
  guint32 done = 0;

  while (done < len)
    {
      guint32 offset, n, effect_pos;
      Item *item = find_prepare (ctx, pos, &offset);
      DeleteTarget d;

      n = len - done;
      item = isolate_at (ctx, item, offset, &n);
      if (!item->effect_deleted)
        {
          item_rank (item, NULL, &effect_pos);
          item->effect_deleted = TRUE;
          add_to_path (item, 0, 0, -(gint32) n);
          if (emit)
            ctx->emit (TANDEM_OP_DELETE_FORWARD, effect_pos, n, NULL, 0, ctx->user_data);
        }
      set_state (item, INSERTED + 1);

      if (backward)
        d = (DeleteTarget) { lv + (len - done - n), n, item->id + n - 1, TRUE };
      else
        d = (DeleteTarget) { lv + done, n, item->id, FALSE };
      g_array_append_val (ctx->deletes, d);
      done += n;
    }

  /* Backward pieces were found left to right, i.e. in descending lv. */
  if (backward)
    for (guint i = first_new, j = ctx->deletes->len - 1; i < j; i++, j--)
      {
        DeleteTarget t = g_array_index (ctx->deletes, DeleteTarget, i);

        g_array_index (ctx->deletes, DeleteTarget, i) = g_array_index (ctx->deletes, DeleteTarget, j);
        g_array_index (ctx->deletes, DeleteTarget, j) = t;
      }
}

/* Starts over from a single placeholder for the @length characters of the
 * document at the critical version {@lv}: nothing after it can refer to
 * the items before it, so they are dropped and their memory reused. */
static void
reset_at_critical (MergeContext *ctx,
                   guint32       lv,
                   guint32       length)
{
  ctx->root = NULL;
  ctx->chunk = 0;
  ctx->chunk_used = 0;
  g_tree_remove_all (ctx->placeholders);
  g_array_set_size (ctx->deletes, 0);
  g_array_set_size (ctx->version, 1);
  g_array_index (ctx->version, guint32, 0) = lv;
  if (length > 0)
    {
      Item *placeholder = item_new (ctx);

      placeholder->id = PLACEHOLDER_BIT;
      placeholder->len = length;
      placeholder->origin_left = ID_NONE;
      placeholder->right_parent = ID_NONE;
      placeholder->state = INSERTED;
      insert_before (ctx, NULL, placeholder);
      add_placeholder (ctx, placeholder);
    }
}

/* For each graph run starting in [first_lv, end): its first lv, and one
 * more than the smallest parent of it or of any later run (0 for a run on
 * the empty document). A version {i} is critical when every event up to i
 * is its ancestor and no later run has a parent below i. */
typedef struct
{
  guint32 lv;
  guint32 min_parent_from_here;
} RunStart;

static GArray *
collect_run_starts (const TandemEventGraph *graph,
                    guint32                 first_lv,
                    guint32                 end)
{
  GArray *starts = g_array_new (FALSE, FALSE, sizeof (RunStart));
  guint32 lv = first_lv;

  while (lv < end)
    {
      guint32 run_start, next = tandem_event_graph_get_run_end (graph, lv);
      guint n_parents;
      const guint32 *parents = tandem_event_graph_get_parents (graph, lv, &n_parents, &run_start);
      RunStart rs = { lv, G_MAXUINT32 };

      if (run_start == lv)
        {
          for (guint i = 0; i < n_parents; i++)
            rs.min_parent_from_here = MIN (rs.min_parent_from_here, parents[i] + 1);
          if (n_parents == 0)
            rs.min_parent_from_here = 0;
        }
      else
        rs.min_parent_from_here = lv;
      g_array_append_val (starts, rs);
      lv = next;
    }
  for (guint i = starts->len; i > 1; i--)
    {
      RunStart *a = &g_array_index (starts, RunStart, i - 2);
      RunStart *b = &g_array_index (starts, RunStart, i - 1);

      a->min_parent_from_here = MIN (a->min_parent_from_here, b->min_parent_from_here);
    }
  return starts;
}

/* Keeps @heads the frontier of the events replayed so far. */
static void
advance_heads (GArray        *heads,
               const guint32 *parents,
               guint          n_parents,
               guint32        last)
{
  for (guint i = 0; i < heads->len;)
    {
      guint32 h = g_array_index (heads, guint32, i);
      gboolean covered = FALSE;

      for (guint j = 0; j < n_parents && !covered; j++)
        covered = parents[j] == h;
      if (covered)
        g_array_remove_index_fast (heads, i);
      else
        i++;
    }
  g_array_append_val (heads, last);
}

static gboolean
check_position (const TandemOpRun *run,
                guint32            offset,
                guint32            len,
                guint32            pos,
                guint32            length,
                guint32            lv,
                GError           **error)
{
  gboolean ok;

  switch (run->kind)
    {
    case TANDEM_OP_INSERT:
      ok = pos <= length;
      break;
    case TANDEM_OP_DELETE_FORWARD:
      ok = (guint64) pos + len <= length;
      break;
    case TANDEM_OP_DELETE_BACKWARD:
      ok = pos < length && (guint64) pos + 1 >= len;
      break;
    case TANDEM_OP_FIELD:
    default:
      ok = TRUE;
      break;
    }
  if (!ok)
    g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_POSITION,
                 "Event %u reaches position %u with %u code points, but the text "
                 "at its parents has only %u", lv, pos, len, length);
  (void) offset;
  return ok;
}

/**
 * tandem_text_merge:
 * @old_frontier: (array length=n_old_frontier): the version the document
 *   shows, before the events from @emit_from on were added
 * @emit_from: the first new event; every event from here to the end of the
 *   log is new
 * @emit: receives the transformed operations of the new events
 * @failed_lv: (out): on error, the first event that failed validation
 *
 * Replays the new events against the document and checks that each new run
 * fits the text at its parents. On error nothing was emitted for the
 * failing run, but operations of earlier new runs may have been; callers
 * merge one run at a time when that matters.
 *
 * Returns: %TRUE on success
 */
gboolean
tandem_text_merge (const TandemEventGraph *graph,
                   TandemOpLog            *ops,
                   const guint32          *old_frontier,
                   guint                   n_old_frontier,
                   guint32                 emit_from,
                   TandemTextEmitFunc      emit,
                   gpointer                user_data,
                   guint32                *failed_lv,
                   GError                **error)
{
  MergeContext ctx = { 0 };
  g_autoptr(GArray) heads = g_array_new (FALSE, FALSE, sizeof (guint32));
  gboolean from_root = FALSE;
  GArray *run_starts, *replayed_heads;
  guint next_start = 0;
  guint run_index;
  guint32 base, end = tandem_op_log_get_length (ops);
  guint32 placeholder_len = 0;
  gboolean ok = TRUE;

  g_return_val_if_fail (emit_from <= end, FALSE);

  /* Replay starts at the newest event that the old version and every new
   * event descend from; a new event on the empty document means replay
   * starts there too. */
  g_array_append_vals (heads, old_frontier, n_old_frontier);
  for (guint32 lv = emit_from; lv < end && !from_root;)
    {
      guint32 run_start;
      guint n_parents;
      const guint32 *parents = tandem_event_graph_get_parents (graph, lv, &n_parents, &run_start);

      if (run_start == lv)
        {
          from_root = n_parents == 0;
          for (guint i = 0; i < n_parents; i++)
            if (parents[i] < emit_from)
              g_array_append_val (heads, parents[i]);
        }
      lv = tandem_event_graph_get_run_end (graph, lv);
    }
  if (from_root || heads->len == 0)
    base = TANDEM_LV_NONE;
  else
    base = tandem_event_graph_find_dominator (graph, (const guint32 *) heads->data, heads->len);

  ctx.graph = graph;
  ctx.ops = ops;
  ctx.rng = 0x9e3779b9u;
  ctx.chunks = g_ptr_array_new_with_free_func (g_free);
  ctx.placeholders = g_tree_new_full (compare_ids, NULL, NULL, NULL);
  ctx.deletes = g_array_new (FALSE, FALSE, sizeof (DeleteTarget));
  ctx.version = g_array_new (FALSE, FALSE, sizeof (guint32));
  ctx.scratch_gone = g_array_new (FALSE, FALSE, sizeof (TandemLvRange));
  ctx.scratch_added = g_array_new (FALSE, FALSE, sizeof (TandemLvRange));
  ctx.emit = emit;
  ctx.user_data = user_data;
  ctx.first_lv = base == TANDEM_LV_NONE ? 0 : base + 1;
  ctx.item_of_lv = g_new0 (Item *, end - ctx.first_lv + 1);

  if (base != TANDEM_LV_NONE)
    {
      placeholder_len = tandem_op_log_length_after (ops, base);
      g_array_append_val (ctx.version, base);
    }
  if (placeholder_len > 0)
    {
      Item *placeholder = item_new (&ctx);

      placeholder->id = PLACEHOLDER_BIT;
      placeholder->len = placeholder_len;
      placeholder->origin_left = ID_NONE;
      placeholder->right_parent = ID_NONE;
      placeholder->state = INSERTED;
      insert_before (&ctx, NULL, placeholder);
      add_placeholder (&ctx, placeholder);
    }

  run_starts = collect_run_starts (graph, ctx.first_lv, end);
  replayed_heads = g_array_new (FALSE, FALSE, sizeof (guint32));
  if (base != TANDEM_LV_NONE)
    g_array_append_val (replayed_heads, base);

  run_index = ctx.first_lv < end ? tandem_op_log_find_index (ops, ctx.first_lv) : 0;
  for (guint32 lv = ctx.first_lv; lv < end && ok;)
    {
      const TandemOpRun *run = tandem_op_log_get_run (ops, run_index);
      guint32 offset = lv - run->lv;
      guint32 stop = run->lv + run->len;
      guint32 len, pos, run_start;
      guint n_parents;
      const guint32 *parents;
      gboolean emitting = lv >= emit_from;

      if (!emitting && stop > emit_from)
        stop = emit_from;
      len = stop - lv;

      parents = tandem_event_graph_get_parents (graph, lv, &n_parents, &run_start);
      if (run_start != lv)
        {
          guint32 previous = lv - 1;
          move_version (&ctx, &previous, 1);
          advance_heads (replayed_heads, &previous, 1, stop - 1);
        }
      else
        {
          move_version (&ctx, parents, n_parents);
          advance_heads (replayed_heads, parents, n_parents, stop - 1);
        }

      switch (run->kind)
        {
        case TANDEM_OP_INSERT:
          pos = run->pos + offset;
          break;
        case TANDEM_OP_DELETE_BACKWARD:
          pos = run->pos - offset;
          break;
        case TANDEM_OP_DELETE_FORWARD:
        case TANDEM_OP_FIELD:
        default:
          pos = run->pos;
          break;
        }

      if (emitting)
        {
          guint32 length = ctx.root ? ctx.root->sum_prepare : 0;

          if (!check_position (run, offset, len, pos, length, lv, error))
            {
              if (failed_lv != NULL)
                *failed_lv = lv;
              ok = FALSE;
              break;
            }
          if (offset == 0)
            tandem_op_log_set_length_before (ops, run_index, length);
        }

      switch (run->kind)
        {
        case TANDEM_OP_INSERT:
          {
            gsize n_bytes;
            const char *text = tandem_op_log_get_text (ops, run, offset, len, &n_bytes);

            apply_insert (&ctx, lv, len, pos, text, n_bytes, emitting);
          }
          break;
        case TANDEM_OP_DELETE_FORWARD:
          apply_delete (&ctx, lv, len, pos, FALSE, emitting);
          break;
        case TANDEM_OP_DELETE_BACKWARD:
          apply_delete (&ctx, lv, len, pos - (len - 1), TRUE, emitting);
          break;
        case TANDEM_OP_FIELD:
        default:
          break;
        }

      g_array_set_size (ctx.version, 1);
      g_array_index (ctx.version, guint32, 0) = stop - 1;
      lv = stop;
      if (lv == run->lv + run->len)
        run_index++;

      /* At a critical version everything replayed so far is settled. */
      while (next_start < run_starts->len && g_array_index (run_starts, RunStart, next_start).lv < stop)
        next_start++;
      if (lv < end && replayed_heads->len == 1 &&
          (next_start == run_starts->len ||
           g_array_index (run_starts, RunStart, next_start).min_parent_from_here >= stop))
        reset_at_critical (&ctx, stop - 1, ctx.root ? ctx.root->sum_prepare : 0);
    }
  g_array_unref (run_starts);
  g_array_unref (replayed_heads);

  g_free (ctx.item_of_lv);
  g_ptr_array_unref (ctx.chunks);
  g_tree_unref (ctx.placeholders);
  g_array_unref (ctx.deletes);
  g_array_unref (ctx.version);
  g_array_unref (ctx.scratch_gone);
  g_array_unref (ctx.scratch_added);
  return ok;
}

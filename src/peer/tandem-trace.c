/* tandem-trace.c: replaying recorded editing traces through the engine
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Two formats (see the traces' README): a sequential trace is replayed as
 * local edits of one peer; a concurrent trace is turned into every agent's
 * event runs first, then merged into one fresh peer. Only the replay is
 * timed, after the file is parsed and the runs are built.
 */
#include "tandem-trace.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <malloc.h>
#include <string.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tandem-event.h"
#include "tandem-event-codec.h"
#include "tandem-note.h"
#include "tandem-saved-note.h"

typedef struct
{
  guint32 pos;
  guint32 del;
  char *text;        /* NULL when nothing is inserted */
} Patch;

static void
patch_clear (gpointer data)
{
  g_free (((Patch *) data)->text);
}

static gint64
current_rss_kb (void)
{
  g_autofree char *statm = NULL;
  long pages = 0, resident = 0;

  if (!g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL) ||
      sscanf (statm, "%ld %ld", &pages, &resident) != 2)
    return 0;
  return resident * (sysconf (_SC_PAGESIZE) / 1024);
}

static gint64
peak_rss_kb (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

static JsonParser *
load_json (const char  *path,
           GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_commandline_arg (path);
  g_autoptr(GInputStream) raw = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GOutputStream) memory = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const char *data;
  const char *problem;

  raw = G_INPUT_STREAM (g_file_read (file, NULL, error));
  if (raw == NULL)
    return NULL;
  if (g_str_has_suffix (path, ".gz"))
    {
      g_autoptr(GZlibDecompressor) gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);

      stream = g_converter_input_stream_new (raw, G_CONVERTER (gunzip));
    }
  else
    stream = g_object_ref (raw);
  memory = g_memory_output_stream_new_resizable ();
  if (g_output_stream_splice (memory, stream, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, error) < 0)
    return NULL;
  bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
  /* an empty file's bytes have no data pointer at all */
  data = g_bytes_get_size (bytes) > 0 ? g_bytes_get_data (bytes, NULL) : "";
  /* strictly one JSON document: json-glib takes more than one, and leaks
   * the first when a second one is broken */
  if ((problem = tandem_json_check (data, (gssize) g_bytes_get_size (bytes), 64)) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s is not JSON: %s", path, problem);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, (gssize) g_bytes_get_size (bytes), error))
    return NULL;
  return g_steal_pointer (&parser);
}

static gboolean
read_patches (JsonArray  *patches,
              GArray     *out,
              GError    **error)
{
  for (guint i = 0; i < json_array_get_length (patches); i++)
    {
      JsonArray *p = json_array_get_array_element (patches, i);
      Patch patch = { 0 };
      const char *text;

      if (p == NULL || json_array_get_length (p) != 3)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Patch %u is not [pos, del, text]", i);
          return FALSE;
        }
      patch.pos = json_array_get_int_element (p, 0);
      patch.del = json_array_get_int_element (p, 1);
      text = json_array_get_string_element (p, 2);
      patch.text = text && *text ? g_strdup (text) : NULL;
      g_array_append_val (out, patch);
    }
  return TRUE;
}

/* Only the replay is measured: the parsed file is gone and glibc has
 * tidied the free lists it left, so neither shows up in the timing. */
static void
settle_memory (JsonParser **parser)
{
  g_clear_object (parser);
  malloc_trim (G_MAXSIZE);
}

static gboolean
apply_patch (TandemNote   *note,
             const Patch  *p,
             GError      **error)
{
  g_autoptr(TandemEvent) deleted = NULL;
  g_autoptr(TandemEvent) inserted = NULL;

  if (p->del > 0 && !(deleted = tandem_note_delete (note, p->pos, p->del, error)))
    return FALSE;
  if (p->text != NULL && !(inserted = tandem_note_insert (note, p->pos, p->text, error)))
    return FALSE;
  return TRUE;
}

/* How big the profile's files are: the database, and whatever of its
 * write-ahead log is not folded in yet. */
static gint64
profile_bytes (const char *profile)
{
  const char *names[] = { "tandem.db", "tandem.db-wal" };
  gint64 total = 0;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (profile, names[i], NULL);
      GStatBuf st;

      if (g_stat (path, &st) == 0)
        total += st.st_size;
    }
  return total;
}

/* Opens the profile again and the note from it, as a restart would. */
static gboolean
measure_reopen (const char         *profile,
                const char         *note_id,
                const char         *expected,
                TandemTraceResult  *result,
                GError            **error)
{
  gint64 rss_before = current_rss_kb ();
  gint64 start = g_get_monotonic_time ();
  g_autoptr(TandemStore) store = tandem_store_open (profile, error);
  g_autofree char *text = NULL;
  g_autoptr(TandemSavedNote) saved = NULL;

  if (store == NULL || !(text = tandem_store_load_note_text (store, note_id, error)))
    return FALSE;
  result->text_load_ms = (g_get_monotonic_time () - start) / 1000.0;
  if (!(saved = tandem_saved_note_load (store, note_id, tandem_store_get_peer_id (store), error)))
    return FALSE;
  result->load_ms = (g_get_monotonic_time () - start) / 1000.0;
  result->load_rss_kb = current_rss_kb () - rss_before;
  result->load_engine_bytes = tandem_note_get_memory_size (tandem_saved_note_get_note (saved));
  g_free (text);
  text = tandem_note_dup_text (tandem_saved_note_get_note (saved));
  result->store_matches = g_str_equal (text, expected);
  return TRUE;
}

/* The same edits again, into a real store in a temporary profile,
 * committed every STORE_BATCH edits as an editor commits a burst of
 * typing. */
#define STORE_BATCH 100

static gboolean
store_sequential (GArray             *patches,
                  guint               repeat,
                  const char         *expected,
                  TandemTraceResult  *result,
                  GError            **error)
{
  g_autofree char *profile = g_dir_make_tmp ("tandem-replay-XXXXXX", error);
  g_autofree char *note_id = NULL;
  gboolean ok = FALSE;

  if (profile == NULL)
    return FALSE;
  {
    g_autoptr(TandemStore) store = tandem_store_open (profile, error);
    g_autoptr(TandemSavedNote) saved = NULL;
    gint64 start = g_get_monotonic_time ();
    guint n = 0;

    if (store == NULL ||
        !(saved = tandem_saved_note_create (store, tandem_store_get_private_notebook_id (store),
                                            tandem_store_get_peer_id (store), error)))
      goto out;
    note_id = g_strdup (tandem_saved_note_get_id (saved));
    for (guint r = 0; r < repeat; r++)
      for (guint i = 0; i < patches->len; i++)
        {
          if (!apply_patch (tandem_saved_note_get_note (saved), &g_array_index (patches, Patch, i), error))
            goto out;
          if (++n % STORE_BATCH == 0)
            {
              if (!tandem_saved_note_commit (saved, error))
                goto out;
              result->commits++;
            }
        }
    if (!tandem_saved_note_commit (saved, error))
      goto out;
    result->commits++;
    result->store_ms = (g_get_monotonic_time () - start) / 1000.0;
    {
      g_autoptr(GBytes) log = tandem_note_save_log (tandem_saved_note_get_note (saved), 0);

      result->log_bytes = g_bytes_get_size (log);
    }
  }
  result->store_bytes = profile_bytes (profile);
  ok = measure_reopen (profile, note_id, expected, result, error);
out:
  tandem_store_delete_profile (profile, NULL);
  return ok;
}

static gboolean
replay_sequential (JsonParser        **parser,
                   JsonObject         *root,
                   guint               repeat,
                   TandemTraceResult  *result,
                   GString            *expected,
                   GError            **error)
{
  g_autoptr(GArray) patches = g_array_new (FALSE, FALSE, sizeof (Patch));
  JsonArray *txns = json_object_get_array_member (root, "txns");
  g_autoptr(TandemNote) note = NULL;
  g_autofree char *text = NULL;
  gint64 rss_before;
  gint64 start;

  g_array_set_clear_func (patches, patch_clear);
  for (guint i = 0; i < json_array_get_length (txns); i++)
    {
      JsonObject *txn = json_array_get_object_element (txns, i);

      if (!read_patches (json_object_get_array_member (txn, "patches"), patches, error))
        return FALSE;
    }

  settle_memory (parser);
  rss_before = current_rss_kb ();
  start = g_get_monotonic_time ();
  note = tandem_note_new (1);
  for (guint r = 0; r < repeat; r++)
    for (guint i = 0; i < patches->len; i++)
      if (!apply_patch (note, &g_array_index (patches, Patch, i), error))
        return FALSE;
  result->replay_ms = (g_get_monotonic_time () - start) / 1000.0;
  result->rss_growth_kb = current_rss_kb () - rss_before;

  text = tandem_note_dup_text (note);
  result->events = tandem_note_get_n_events (note);
  result->runs = tandem_note_get_n_runs (note);
  result->final_length = tandem_note_get_length (note);
  result->matches_end = g_str_equal (text, expected->str);
  result->engine_bytes = tandem_note_get_memory_size (note);
  if (result->store && !store_sequential (patches, repeat, text, result, error))
    return FALSE;
  return TRUE;
}

typedef struct
{
  guint64 peer;
  guint64 seq_end;          /* one past the txn's last event; its seq start is seq_end - n */
  guint64 n_events;
  GArray *heads;            /* TandemEventId: what a child of this txn has as parents */
} TxnInfo;

static void
txn_info_clear (gpointer data)
{
  g_clear_pointer (&((TxnInfo *) data)->heads, g_array_unref);
}

/* A run being collected while reading a trace. */
typedef struct
{
  guint64 peer;
  guint64 seq;
  GArray *parents;          /* TandemEventId */
  TandemOpKind kind;
  guint32 pos;
  guint32 len;
  GString *text;
} Draft;

static void
draft_clear (gpointer data)
{
  Draft *d = data;

  g_array_unref (d->parents);
  if (d->text != NULL)
    g_string_free (d->text, TRUE);
}

/* Adds one patch's events. A peer sends its history as runs (see
 * tandem_note_dup_events_since()), so a keystroke made right after the
 * same agent's previous one joins that run, as it would on the wire. */
static void
add_events (GArray              *drafts,
            gint                *last_draft,
            const TandemEventId *heads,
            guint                n_heads,
            guint64              peer,
            guint64              seq,
            TandemOpKind         kind,
            guint32              pos,
            guint32              len,
            const char          *text)
{
  Draft *last = *last_draft >= 0 ? &g_array_index (drafts, Draft, *last_draft) : NULL;
  Draft d = { peer, seq, NULL, kind, pos, len, NULL };

  if (last != NULL && n_heads == 1 && heads[0].peer == peer && heads[0].seq + 1 == seq &&
      last->seq + last->len == seq && last->kind == kind &&
      ((kind == TANDEM_OP_INSERT && pos == last->pos + last->len) ||
       (kind == TANDEM_OP_DELETE_FORWARD && pos == last->pos)))
    {
      last->len += len;
      if (text != NULL)
        g_string_append (last->text, text);
      return;
    }
  d.parents = g_array_new (FALSE, FALSE, sizeof (TandemEventId));
  g_array_append_vals (d.parents, heads, n_heads);
  d.text = text ? g_string_new (text) : NULL;
  g_array_append_val (drafts, d);
  *last_draft = drafts->len - 1;
}

/* Turns a concurrent trace into event runs: agent i is peer i + 1, so the
 * lower agent goes left on ties, as the traces' own tools order them. */
static gboolean
build_concurrent (JsonObject  *root,
                  guint        repeat,
                  GPtrArray   *events,
                  GError     **error)
{
  JsonArray *txns = json_object_get_array_member (root, "txns");
  guint n_txns = json_array_get_length (txns);
  guint n_agents = json_object_get_int_member (root, "numAgents");
  g_autofree guint64 *next_seq = g_new0 (guint64, n_agents);
  g_autoptr(GArray) info = g_array_sized_new (FALSE, TRUE, sizeof (TxnInfo), n_txns * repeat);
  g_autoptr(GArray) patches = g_array_new (FALSE, FALSE, sizeof (Patch));
  g_autoptr(GArray) drafts = g_array_new (FALSE, FALSE, sizeof (Draft));
  g_autofree gint *last_draft = g_new (gint, n_agents);

  for (guint a = 0; a < n_agents; a++)
    last_draft[a] = -1;
  g_array_set_clear_func (drafts, draft_clear);
  g_array_set_clear_func (info, txn_info_clear);
  g_array_set_clear_func (patches, patch_clear);
  g_array_set_size (info, n_txns * repeat);

  for (guint copy = 0; copy < repeat; copy++)
    for (guint t = 0; t < n_txns; t++)
      {
        JsonObject *txn = json_array_get_object_element (txns, t);
        JsonArray *parents = json_object_get_array_member (txn, "parents");
        guint agent = json_object_get_int_member (txn, "agent");
        TxnInfo *me = &g_array_index (info, TxnInfo, copy * n_txns + t);
        g_autoptr(GArray) heads = g_array_new (FALSE, FALSE, sizeof (TandemEventId));

        if (agent >= n_agents)
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Txn %u has agent %u of %u", t, agent, n_agents);
            return FALSE;
          }
        /* copy k's roots continue from copy k-1's last txn */
        if (json_array_get_length (parents) == 0 && copy > 0)
          {
            TxnInfo *last = &g_array_index (info, TxnInfo, copy * n_txns - 1);
            g_array_append_vals (heads, last->heads->data, last->heads->len);
          }
        for (guint i = 0; i < json_array_get_length (parents); i++)
          {
            guint p = json_array_get_int_element (parents, i);
            TxnInfo *parent;

            if (p >= t)
              {
                g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Txn %u has a later parent %u", t, p);
                return FALSE;
              }
            parent = &g_array_index (info, TxnInfo, copy * n_txns + p);
            g_array_append_vals (heads, parent->heads->data, parent->heads->len);
          }
        /* two parents can share heads once a txn without patches passes them on */
        for (guint i = 0; i < heads->len; i++)
          for (guint j = heads->len - 1; j > i; j--)
            if (tandem_event_id_compare (&g_array_index (heads, TandemEventId, i),
                                         &g_array_index (heads, TandemEventId, j)) == 0)
              g_array_remove_index (heads, j);

        g_array_set_size (patches, 0);
        if (!read_patches (json_object_get_array_member (txn, "patches"), patches, error))
          return FALSE;
        for (guint i = 0; i < patches->len; i++)
          {
            const Patch *p = &g_array_index (patches, Patch, i);

            if (p->del > 0)
              {
                add_events (drafts, &last_draft[agent], (TandemEventId *) heads->data, heads->len,
                            agent + 1, next_seq[agent], TANDEM_OP_DELETE_FORWARD, p->pos, p->del, NULL);
                next_seq[agent] += p->del;
                g_array_set_size (heads, 1);
                g_array_index (heads, TandemEventId, 0) = (TandemEventId) { agent + 1, next_seq[agent] - 1 };
              }
            if (p->text != NULL)
              {
                guint32 n = g_utf8_strlen (p->text, -1);

                add_events (drafts, &last_draft[agent], (TandemEventId *) heads->data, heads->len,
                            agent + 1, next_seq[agent], TANDEM_OP_INSERT, p->pos, n, p->text);
                next_seq[agent] += n;
                g_array_set_size (heads, 1);
                g_array_index (heads, TandemEventId, 0) = (TandemEventId) { agent + 1, next_seq[agent] - 1 };
              }
          }
        me->heads = g_steal_pointer (&heads);
      }

  for (guint i = 0; i < drafts->len; i++)
    {
      Draft *d = &g_array_index (drafts, Draft, i);

      g_ptr_array_add (events, tandem_event_new_text (d->peer, d->seq, (TandemEventId *) d->parents->data,
                                                      d->parents->len, d->kind, d->pos, d->len,
                                                      d->text ? d->text->str : NULL));
    }
  return TRUE;
}

/* A peer that merged a whole history saves it in one commit. */
static gboolean
store_merged (TandemNote         *note,
              const char         *expected,
              TandemTraceResult  *result,
              GError            **error)
{
  g_autofree char *profile = g_dir_make_tmp ("tandem-replay-XXXXXX", error);
  g_autofree char *note_id = NULL;
  gboolean ok = FALSE;

  if (profile == NULL)
    return FALSE;
  {
    g_autoptr(TandemStore) store = tandem_store_open (profile, error);
    g_autoptr(TandemSavedNote) saved = NULL;
    g_autoptr(GBytes) log = NULL;
    gint64 start = g_get_monotonic_time ();

    if (store == NULL ||
        !(saved = tandem_saved_note_adopt (store, tandem_store_get_private_notebook_id (store), note, error)) ||
        !tandem_saved_note_commit (saved, error))
      goto out;
    result->commits = 1;
    result->store_ms = (g_get_monotonic_time () - start) / 1000.0;
    note_id = g_strdup (tandem_saved_note_get_id (saved));
    log = tandem_note_save_log (note, 0);
    result->log_bytes = g_bytes_get_size (log);
  }
  result->store_bytes = profile_bytes (profile);
  ok = measure_reopen (profile, note_id, expected, result, error);
out:
  tandem_store_delete_profile (profile, NULL);
  return ok;
}

static gboolean
replay_concurrent (JsonParser        **parser,
                   JsonObject         *root,
                   guint               repeat,
                   TandemTraceResult  *result,
                   GString            *expected,
                   GError            **error)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  g_autoptr(TandemNote) note = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autofree char *text = NULL;
  gint64 rss_before, start;

  if (!build_concurrent (root, repeat, events, error))
    return FALSE;

  settle_memory (parser);
  rss_before = current_rss_kb ();
  start = g_get_monotonic_time ();
  note = tandem_note_new (G_MAXUINT64);
  if (!tandem_note_receive_many (note, events, &errors))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%u runs were refused, the first: %s",
                   errors->len, ((GError *) g_ptr_array_index (errors, 0))->message);
      return FALSE;
    }
  result->replay_ms = (g_get_monotonic_time () - start) / 1000.0;
  result->rss_growth_kb = current_rss_kb () - rss_before;

  text = tandem_note_dup_text (note);
  result->events = tandem_note_get_n_events (note);
  result->runs = tandem_note_get_n_runs (note);
  result->final_length = tandem_note_get_length (note);
  result->matches_end = g_str_equal (text, expected->str);
  result->engine_bytes = tandem_note_get_memory_size (note);
  if (result->store && !store_merged (note, text, result, error))
    return FALSE;
  return TRUE;
}

/* ---- the file's shape, checked before anything is built from it ---- */

#define MAX_AGENTS 65536

#define BAD_TRACE(...) \
  (g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, __VA_ARGS__), FALSE)

static gboolean
is_kind (JsonNode *node,
         GType     type)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

/* A member that is an integer from 0 to @max. */
static gboolean
is_count (JsonNode *node,
          gint64    max)
{
  return is_kind (node, G_TYPE_INT64) && json_node_get_int (node) >= 0 && json_node_get_int (node) <= max;
}

static gboolean
check_patches (JsonNode  *node,
               guint      t,
               GError   **error)
{
  JsonArray *patches;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return BAD_TRACE ("Txn %u has no list of patches", t);
  patches = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (patches); i++)
    {
      JsonNode *patch = json_array_get_element (patches, i);
      JsonArray *p = JSON_NODE_HOLDS_ARRAY (patch) ? json_node_get_array (patch) : NULL;

      if (p == NULL || json_array_get_length (p) != 3 ||
          !is_count (json_array_get_element (p, 0), G_MAXINT32) ||
          !is_count (json_array_get_element (p, 1), G_MAXINT32) ||
          !is_kind (json_array_get_element (p, 2), G_TYPE_STRING))
        return BAD_TRACE ("Txn %u patch %u is not [pos, del, text]", t, i);
    }
  return TRUE;
}

/* Checks every member the replay reads, with its type and range, so a
 * damaged file is refused with a reason. */
static gboolean
check_trace (JsonObject  *root,
             gboolean     concurrent,
             GError     **error)
{
  JsonNode *txns = json_object_get_member (root, "txns");
  JsonNode *agents = json_object_get_member (root, "numAgents");
  JsonArray *list;

  if (!is_kind (json_object_get_member (root, "endContent"), G_TYPE_STRING))
    return BAD_TRACE ("The trace's endContent is not a string");
  if (txns == NULL || !JSON_NODE_HOLDS_ARRAY (txns))
    return BAD_TRACE ("The trace's txns is not a list");
  if (concurrent && (!is_count (agents, MAX_AGENTS) || json_node_get_int (agents) == 0))
    return BAD_TRACE ("A concurrent trace needs numAgents from 1 to %d", MAX_AGENTS);
  list = json_node_get_array (txns);
  for (guint t = 0; t < json_array_get_length (list); t++)
    {
      JsonNode *node = json_array_get_element (list, t);
      JsonObject *txn = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonNode *parents;

      if (txn == NULL)
        return BAD_TRACE ("Txn %u is not an object", t);
      if (!check_patches (json_object_get_member (txn, "patches"), t, error))
        return FALSE;
      if (!concurrent)
        continue;
      if (!is_count (json_object_get_member (txn, "agent"), G_MAXINT32))
        return BAD_TRACE ("Txn %u has no agent", t);
      parents = json_object_get_member (txn, "parents");
      if (parents == NULL || !JSON_NODE_HOLDS_ARRAY (parents))
        return BAD_TRACE ("Txn %u has no list of parents", t);
      for (guint i = 0; i < json_array_get_length (json_node_get_array (parents)); i++)
        if (!is_count (json_array_get_element (json_node_get_array (parents), i), G_MAXINT32))
          return BAD_TRACE ("Txn %u parent %u is not a txn number", t, i);
    }
  return TRUE;
}

/**
 * tandem_trace_replay:
 * @path: a trace, `.json` or `.json.gz`
 * @repeat: how many copies to chain, as the Eg-walker paper's S1 and C1 do
 *
 * Returns: %TRUE when the trace replayed; @result says whether it matched
 */
gboolean
tandem_trace_replay (const char        *path,
                     guint              repeat,
                     TandemTraceResult *result,
                     GError           **error)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *root;
  g_autoptr(GString) expected = g_string_new (NULL);
  const char *end;
  const char *kind;
  JsonNode *kind_node;

  gboolean store = result->store;

  memset (result, 0, sizeof *result);
  result->store = store;
  if (!(parser = load_json (path, error)))
    return FALSE;
  root = json_parser_get_root (parser) != NULL && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))
       ? json_node_get_object (json_parser_get_root (parser)) : NULL;
  if (root == NULL || !json_object_has_member (root, "txns") || !json_object_has_member (root, "endContent"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s is not an editing trace", path);
      return FALSE;
    }
  kind_node = json_object_get_member (root, "kind");
  kind = kind_node == NULL ? "sequential" : is_kind (kind_node, G_TYPE_STRING) ? json_node_get_string (kind_node) : NULL;
  if (kind == NULL || !(g_str_equal (kind, "sequential") || g_str_equal (kind, "concurrent")))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s is of an unknown kind", path);
      return FALSE;
    }
  if (!check_trace (root, g_str_equal (kind, "concurrent"), error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  end = json_object_get_string_member (root, "endContent");
  for (guint r = 0; r < repeat; r++)
    g_string_append (expected, end);

  if (g_str_equal (kind, "concurrent"))
    {
      if (!replay_concurrent (&parser, root, repeat, result, expected, error))
        return FALSE;
    }
  else if (!replay_sequential (&parser, root, repeat, result, expected, error))
    return FALSE;
  result->peak_rss_kb = peak_rss_kb ();
  return TRUE;
}

char *
tandem_trace_result_to_json (const char              *path,
                             const TandemTraceResult *result)
{
  g_autofree char *name = g_path_get_basename (path);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "trace");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "events");
  json_builder_add_int_value (b, result->events);
  json_builder_set_member_name (b, "runs");
  json_builder_add_int_value (b, result->runs);
  json_builder_set_member_name (b, "final_length");
  json_builder_add_int_value (b, result->final_length);
  json_builder_set_member_name (b, "matches_end");
  json_builder_add_boolean_value (b, result->matches_end);
  json_builder_set_member_name (b, "replay_ms");
  json_builder_add_double_value (b, result->replay_ms);
  json_builder_set_member_name (b, "peak_rss_kb");
  json_builder_add_int_value (b, result->peak_rss_kb);
  json_builder_set_member_name (b, "rss_growth_kb");
  json_builder_add_int_value (b, result->rss_growth_kb);
  json_builder_set_member_name (b, "engine_bytes");
  json_builder_add_int_value (b, result->engine_bytes);
  if (result->store)
    {
      json_builder_set_member_name (b, "store_ms");
      json_builder_add_double_value (b, result->store_ms);
      json_builder_set_member_name (b, "commits");
      json_builder_add_int_value (b, result->commits);
      json_builder_set_member_name (b, "store_bytes");
      json_builder_add_int_value (b, result->store_bytes);
      json_builder_set_member_name (b, "log_bytes");
      json_builder_add_int_value (b, result->log_bytes);
      json_builder_set_member_name (b, "text_load_ms");
      json_builder_add_double_value (b, result->text_load_ms);
      json_builder_set_member_name (b, "load_ms");
      json_builder_add_double_value (b, result->load_ms);
      json_builder_set_member_name (b, "load_rss_kb");
      json_builder_add_int_value (b, result->load_rss_kb);
      json_builder_set_member_name (b, "load_engine_bytes");
      json_builder_add_int_value (b, result->load_engine_bytes);
      json_builder_set_member_name (b, "store_matches");
      json_builder_add_boolean_value (b, result->store_matches);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

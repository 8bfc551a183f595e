/* tandem-note-save.c: a note's history as bytes for the store, and back
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The history is saved as it lives in memory, run-length encoded, so that
 * loading it is a copy and not a replay. All numbers are little-endian:
 *
 *   "TNL1"
 *   u32 n; n x graph run:  u32 lv, u32 len, u64 peer, u64 seq, u32 n_parents, u32 parents[]
 *   u32 n; n x op run:     u32 lv, u32 len, u32 pos, u32 length_before, u32 kind,
 *                          for an insert: u32 n_bytes, UTF-8
 *   u32 n; n x field write: u32 n_bytes, the write's JSON (tandem-event-codec.c)
 *   u32 the length of the text with these events, which the saved text must have
 *   16 bytes: the MD5 of everything before, to tell damage from history
 *
 * A save may start at any event, so a store can append only what is new;
 * loads of consecutive pieces join up. Everything is checked on the way in:
 * a damaged history is refused, never half loaded.
 */
#include "tandem-note-private.h"

#include "tandem-engine-error.h"
#include "tandem-event-codec.h"
#include "tandem-text-merge.h"

#include <string.h>

#define MAGIC "TNL1"

static void
put_u32 (GByteArray *out,
         guint32     v)
{
  guint32 le = GUINT32_TO_LE (v);

  g_byte_array_append (out, (const guint8 *) &le, 4);
}

static void
put_u64 (GByteArray *out,
         guint64     v)
{
  guint64 le = GUINT64_TO_LE (v);

  g_byte_array_append (out, (const guint8 *) &le, 8);
}

/* The parents of @lv's event as lvs: the run's, or the event before. */
static const guint32 *
parents_of (TandemNote *self,
            guint32     lv,
            guint      *n,
            guint32    *previous)
{
  guint32 run_start;
  const guint32 *parents = tandem_event_graph_get_parents (self->graph, lv, n, &run_start);

  if (run_start == lv)
    return parents;
  *previous = lv - 1;
  *n = 1;
  return previous;
}

/**
 * tandem_note_save_log:
 * @from: the first event to save
 *
 * Returns: (transfer full): events @from to the end, in the store's format
 */
GBytes *
tandem_note_save_log (TandemNote *self,
                      guint32     from)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint32 end = tandem_event_graph_get_length (self->graph);
  guint count_at;
  guint32 count = 0;

  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);
  g_return_val_if_fail (from <= end, NULL);

  g_byte_array_append (out, (const guint8 *) MAGIC, 4);

  count_at = out->len;
  put_u32 (out, 0);
  for (guint32 lv = from; lv < end; lv = tandem_event_graph_get_run_end (self->graph, lv), count++)
    {
      TandemEventId id = tandem_event_graph_get_id (self->graph, lv);
      guint32 stop = tandem_event_graph_get_run_end (self->graph, lv);
      guint32 previous;
      guint n;
      const guint32 *parents = parents_of (self, lv, &n, &previous);

      put_u32 (out, lv);
      put_u32 (out, stop - lv);
      put_u64 (out, id.peer);
      put_u64 (out, id.seq);
      put_u32 (out, n);
      for (guint i = 0; i < n; i++)
        put_u32 (out, parents[i]);
    }
  *(guint32 *) (out->data + count_at) = GUINT32_TO_LE (count);

  count_at = out->len;
  count = 0;
  put_u32 (out, 0);
  for (guint32 lv = from; lv < end; count++)
    {
      const TandemOpRun *run = tandem_op_log_find (self->ops, lv);
      guint32 offset = lv - run->lv;
      guint32 len = run->lv + run->len - lv;
      guint32 pos = run->pos;

      if (run->kind == TANDEM_OP_INSERT)
        pos += offset;
      else if (run->kind == TANDEM_OP_DELETE_BACKWARD)
        pos -= offset;
      put_u32 (out, lv);
      put_u32 (out, len);
      put_u32 (out, pos);
      put_u32 (out, offset ? tandem_op_log_length_after (self->ops, lv - 1) : run->length_before);
      put_u32 (out, run->kind);
      if (run->kind == TANDEM_OP_INSERT)
        {
          gsize n_bytes;
          const char *text = tandem_op_log_get_text (self->ops, run, offset, len, &n_bytes);

          put_u32 (out, n_bytes);
          g_byte_array_append (out, (const guint8 *) text, n_bytes);
        }
      lv += len;
    }
  *(guint32 *) (out->data + count_at) = GUINT32_TO_LE (count);

  count_at = out->len;
  count = 0;
  put_u32 (out, 0);
  for (guint32 lv = from; lv < end; lv++)
    {
      TandemEvent *field = g_hash_table_lookup (self->field_events, GUINT_TO_POINTER (lv));
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *json = NULL;

      if (field == NULL)
        continue;
      node = tandem_event_to_json (field);
      json = json_to_string (node, FALSE);
      put_u32 (out, strlen (json));
      g_byte_array_append (out, (const guint8 *) json, strlen (json));
      count++;
    }
  *(guint32 *) (out->data + count_at) = GUINT32_TO_LE (count);
  put_u32 (out, tandem_rope_get_length (self->doc));

  {
    guint8 digest[16];
    gsize digest_len = sizeof digest;
    g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_MD5);

    g_checksum_update (sum, out->data, out->len);
    g_checksum_get_digest (sum, digest, &digest_len);
    g_byte_array_append (out, digest, sizeof digest);
  }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

typedef struct
{
  const guint8 *data;
  gsize len;
  gsize at;
} Reader;

static gboolean
get_u32 (Reader  *r,
         guint32 *v)
{
  if (r->len - r->at < 4)
    return FALSE;
  memcpy (v, r->data + r->at, 4);
  *v = GUINT32_FROM_LE (*v);
  r->at += 4;
  return TRUE;
}

static gboolean
get_u64 (Reader  *r,
         guint64 *v)
{
  if (r->len - r->at < 8)
    return FALSE;
  memcpy (v, r->data + r->at, 8);
  *v = GUINT64_FROM_LE (*v);
  r->at += 8;
  return TRUE;
}

static gboolean
get_bytes (Reader       *r,
           guint32       n,
           const char  **bytes)
{
  if (r->len - r->at < n)
    return FALSE;
  *bytes = (const char *) r->data + r->at;
  r->at += n;
  return TRUE;
}

static gboolean
damaged (GError     **error,
         const char  *what)
{
  g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
               "The saved history is damaged: %s", what);
  return FALSE;
}

static gboolean
load_graph (TandemNote  *self,
            Reader      *r,
            GError     **error)
{
  guint32 n_runs;

  if (!get_u32 (r, &n_runs))
    return damaged (error, "it ends early");
  for (guint32 i = 0; i < n_runs; i++)
    {
      guint32 lv, len, n_parents;
      guint64 peer, seq;
      guint32 parents[TANDEM_EVENT_MAX_PARENTS];
      guint32 length = tandem_event_graph_get_length (self->graph);

      if (!get_u32 (r, &lv) || !get_u32 (r, &len) || !get_u64 (r, &peer) ||
          !get_u64 (r, &seq) || !get_u32 (r, &n_parents))
        return damaged (error, "it ends early");
      if (lv != length || len == 0 || len > G_MAXUINT32 - 1 - lv)
        return damaged (error, "events are missing or out of order");
      if (seq != tandem_version_vector_get (tandem_event_graph_get_version (self->graph), peer))
        return damaged (error, "a peer's events are not in sequence");
      if (n_parents > TANDEM_EVENT_MAX_PARENTS)
        return damaged (error, "an event has too many parents");
      for (guint32 k = 0; k < n_parents; k++)
        if (!get_u32 (r, &parents[k]) || parents[k] >= lv)
          return damaged (error, "an event names a parent that is not before it");
      tandem_event_graph_add (self->graph, peer, seq, len, parents, n_parents);
    }
  return TRUE;
}

static gboolean
load_ops (TandemNote  *self,
          Reader      *r,
          guint32      end,
          GError     **error)
{
  guint32 n_runs;

  if (!get_u32 (r, &n_runs))
    return damaged (error, "it ends early");
  for (guint32 i = 0; i < n_runs; i++)
    {
      guint32 lv, len, pos, length_before, kind, n_bytes = 0;
      const char *text = NULL;
      guint32 previous;
      guint n_parents;
      const guint32 *parents;
      gboolean follows;

      if (!get_u32 (r, &lv) || !get_u32 (r, &len) || !get_u32 (r, &pos) ||
          !get_u32 (r, &length_before) || !get_u32 (r, &kind))
        return damaged (error, "it ends early");
      if (lv != tandem_op_log_get_length (self->ops) || len == 0 || len > end - lv)
        return damaged (error, "operations do not match the events");
      if (kind > TANDEM_OP_FIELD || (kind == TANDEM_OP_FIELD && len != 1))
        return damaged (error, "an operation of an unknown kind");
      if (kind == TANDEM_OP_INSERT)
        {
          if (!get_u32 (r, &n_bytes) || !get_bytes (r, n_bytes, &text))
            return damaged (error, "it ends early");
          if (!g_utf8_validate_len (text, n_bytes, NULL) || memchr (text, '\0', n_bytes) ||
              g_utf8_strlen (text, n_bytes) != len)
            return damaged (error, "inserted text does not match its length");
        }
      parents = parents_of (self, lv, &n_parents, &previous);
      follows = n_parents == 1 && lv > 0 && parents[0] == lv - 1;
      if (follows && length_before != tandem_op_log_length_after (self->ops, lv - 1))
        return damaged (error, "a text length does not follow from the event before");
      if (!(kind == TANDEM_OP_INSERT ? pos <= length_before :
            kind == TANDEM_OP_DELETE_FORWARD ? (guint64) pos + len <= length_before :
            kind == TANDEM_OP_DELETE_BACKWARD ? pos < length_before && (guint64) pos + 1 >= len : TRUE))
        return damaged (error, "an operation reaches outside the text");
      tandem_op_log_append (self->ops, kind, pos, len, text, n_bytes, length_before, follows);
    }
  if (tandem_op_log_get_length (self->ops) != end)
    return damaged (error, "operations do not match the events");
  return TRUE;
}

static gboolean
load_fields (TandemNote  *self,
             Reader      *r,
             GError     **error)
{
  guint32 n_fields;

  if (!get_u32 (r, &n_fields))
    return damaged (error, "it ends early");
  for (guint32 i = 0; i < n_fields; i++)
    {
      guint32 n_bytes, lv, n;
      const char *json;
      g_autoptr(JsonParser) parser = json_parser_new_immutable ();
      g_autoptr(TandemEvent) event = NULL;
      g_autoptr(TandemVersionVector) clock = NULL;
      guint32 parents[TANDEM_EVENT_MAX_PARENTS];
      g_autoptr(GError) local_error = NULL;

      if (!get_u32 (r, &n_bytes) || !get_bytes (r, n_bytes, &json))
        return damaged (error, "it ends early");
      if (tandem_json_has_nul (json, n_bytes) ||
          !json_parser_load_from_data (parser, json, n_bytes, NULL) ||
          !(event = tandem_event_from_json (json_parser_get_root (parser), &local_error)) ||
          event->kind != TANDEM_OP_FIELD)
        return damaged (error, "a field write cannot be read");
      lv = tandem_event_graph_find (self->graph, &(TandemEventId) { event->peer, event->seq });
      if (lv == TANDEM_LV_NONE || tandem_op_log_find (self->ops, lv)->kind != TANDEM_OP_FIELD ||
          g_hash_table_contains (self->field_events, GUINT_TO_POINTER (lv)))
        return damaged (error, "a field write does not match its event");
      for (n = 0; n < event->n_parents; n++)
        if ((parents[n] = tandem_event_graph_find (self->graph, &event->parents[n])) == TANDEM_LV_NONE)
          return damaged (error, "a field write names an unknown parent");
      clock = tandem_event_graph_version_at (self->graph, parents, n);
      tandem_version_vector_set (clock, event->peer, event->seq + 1);
      g_hash_table_insert (self->field_events, GUINT_TO_POINTER (lv), tandem_event_ref (event));
      tandem_field_table_apply (self->fields, event, clock);
      self->lamport = MAX (self->lamport, event->lamport);
    }
  return TRUE;
}

/**
 * tandem_note_new_from_log:
 * @pieces: (element-type GBytes): saved pieces of history, oldest first
 * @text: (nullable): the text the history makes, as saved beside it; %NULL
 *   to rebuild it by replaying the whole history
 *
 * Loads a note without replaying it. Each piece is checked; a damaged one
 * fails the whole load with @error set.
 *
 * Returns: (transfer full) (nullable): the note
 */
TandemNote *
tandem_note_new_from_log (guint64      peer_id,
                          GPtrArray   *pieces,
                          const char  *text,
                          GError     **error)
{
  g_autoptr(TandemNote) note = tandem_note_new (peer_id);
  guint32 text_length = 0;

  for (guint i = 0; i < pieces->len; i++)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (g_ptr_array_index (pieces, i), &len);
      Reader r = { data, len - 16, 4 };
      guint8 digest[16];
      gsize digest_len = sizeof digest;
      g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_MD5);

      if (len < 4 + 16 || memcmp (data, MAGIC, 4) != 0)
        {
          damaged (error, "it is not a Tandem history");
          return NULL;
        }
      g_checksum_update (sum, data, len - 16);
      g_checksum_get_digest (sum, digest, &digest_len);
      if (memcmp (digest, data + len - 16, 16) != 0)
        {
          damaged (error, "its checksum does not match");
          return NULL;
        }
      if (!load_graph (note, &r, error) ||
          !load_ops (note, &r, tandem_event_graph_get_length (note->graph), error) ||
          !load_fields (note, &r, error))
        return NULL;
      if (!get_u32 (&r, &text_length))
        {
          damaged (error, "it ends early");
          return NULL;
        }
      if (r.at != r.len)
        {
          damaged (error, "it has bytes after its end");
          return NULL;
        }
    }

  if (text == NULL)
    {
      /* the slow way: replay everything onto an empty text */
      ApplyData data = { note, FALSE };

      if (!tandem_text_merge (note->graph, note->ops, NULL, 0, 0, _tandem_note_apply_to_doc, &data, NULL, error))
        return NULL;
    }
  else
    {
      glong n;

      if (!g_utf8_validate (text, -1, NULL))
        {
          damaged (error, "the saved text is not UTF-8");
          return NULL;
        }
      n = g_utf8_strlen (text, -1);
      if ((guint64) n != text_length)
        {
          damaged (error, "the saved text does not fit the history");
          return NULL;
        }
      tandem_rope_insert (note->doc, 0, text, n);
    }
  return g_steal_pointer (&note);
}

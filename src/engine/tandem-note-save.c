/* tandem-note-save.c: a note's history as bytes for the store, and back
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The history is saved as it lives in memory, run-length encoded, so that
 * loading it is a copy and not a replay. Numbers are LEB128 varints; what
 * follows from the events before (an lv, a seq, the text length after an
 * event whose parent is the one before) is not written:
 *
 *   "TNL2", varint first lv
 *   varint n; n x graph run: varint len, varint peer (an index into the
 *     peers seen so far in this piece, or their count followed by the new
 *     64-bit id, little-endian), varint n_parents, varint (lv - parent)...
 *   varint n; n x op run: u8 kind | follows << 2, varint len,
 *     varint zigzag(pos - previous run's pos), varint length_before unless
 *     it follows, and for an insert the UTF-8 of its len code points
 *   varint n; n x field write: varint n_bytes, the write's JSON (tandem-event-codec.c)
 *   varint the length of the text with these events, which the saved text must have
 *   16 bytes: the MD5 of everything before, to tell damage from history
 *
 * A piece of more than COMPRESS_FROM bytes is stored zlib-compressed, as
 * "TNZ2" and the compressed bytes of all of the above: most of a history
 * is text, which compresses well.
 *
 * A save may start at any event, so a store can append only what is new;
 * loads of consecutive pieces join up. Everything is checked on the way in:
 * a damaged history is refused, never half loaded.
 */
#include "tandem-note-private.h"

#include <gio/gio.h>

#include "tandem-engine-error.h"
#include "tandem-event-codec.h"
#include "tandem-text-merge.h"

#include <string.h>

#define MAGIC "TNL2"
#define MAGIC_COMPRESSED "TNZ2"
#define COMPRESS_FROM 4096
/* More than any note's history: a bound for damaged input. */
#define MAX_HISTORY_BYTES ((gsize) 1 << 31)

/* Runs @data through @converter into a new array; FALSE when the converter
 * fails or the output would pass @max bytes. */
static GByteArray *
convert_all (GConverter   *converter,
             const guint8 *data,
             gsize         len,
             gsize         max)
{
  g_autoptr(GByteArray) out = g_byte_array_sized_new (len);
  guint8 buf[16384];
  GConverterResult result;

  do
    {
      gsize read = 0, written = 0;
      g_autoptr(GError) error = NULL;

      result = g_converter_convert (converter, data, len, buf, sizeof buf,
                                    G_CONVERTER_INPUT_AT_END, &read, &written, &error);
      if (result == G_CONVERTER_ERROR || out->len + written > max)
        return NULL;
      g_byte_array_append (out, buf, written);
      data += read;
      len -= read;
    }
  while (result != G_CONVERTER_FINISHED);
  return g_steal_pointer (&out);
}

static void
put_varint (GByteArray *out,
            guint64     v)
{
  guint8 buf[10];
  guint n = 0;

  do
    {
      buf[n] = v & 0x7f;
      v >>= 7;
      if (v != 0)
        buf[n] |= 0x80;
      n++;
    }
  while (v != 0);
  g_byte_array_append (out, buf, n);
}

static inline guint64
zigzag (gint64 v)
{
  return ((guint64) v << 1) ^ (guint64) (v >> 63);
}

static inline gint64
unzigzag (guint64 v)
{
  return (gint64) (v >> 1) ^ -(gint64) (v & 1);
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
  g_autoptr(GArray) peers = g_array_new (FALSE, FALSE, sizeof (guint64));
  guint32 end = tandem_event_graph_get_length (self->graph);
  guint32 count = 0, previous_pos = 0;
  guint n_fields = 0;

  g_return_val_if_fail (TANDEM_IS_NOTE (self), NULL);
  g_return_val_if_fail (from <= end, NULL);

  g_byte_array_append (out, (const guint8 *) MAGIC, 4);
  put_varint (out, from);

  for (guint32 lv = from; lv < end; lv = tandem_event_graph_get_run_end (self->graph, lv))
    count++;
  put_varint (out, count);
  for (guint32 lv = from; lv < end; lv = tandem_event_graph_get_run_end (self->graph, lv))
    {
      TandemEventId id = tandem_event_graph_get_id (self->graph, lv);
      guint32 stop = tandem_event_graph_get_run_end (self->graph, lv);
      guint32 previous;
      guint n, index;
      const guint32 *parents = parents_of (self, lv, &n, &previous);

      put_varint (out, stop - lv);
      for (index = 0; index < peers->len && g_array_index (peers, guint64, index) != id.peer; index++)
        ;
      put_varint (out, index);
      if (index == peers->len)
        {
          guint64 le = GUINT64_TO_LE (id.peer);

          g_byte_array_append (out, (const guint8 *) &le, 8);
          g_array_append_val (peers, id.peer);
        }
      put_varint (out, n);
      for (guint i = 0; i < n; i++)
        put_varint (out, lv - parents[i]);
    }

  count = 0;
  for (guint32 lv = from; lv < end; count++)
    {
      const TandemOpRun *run = tandem_op_log_find (self->ops, lv);

      lv = run->lv + run->len;
    }
  put_varint (out, count);
  for (guint32 lv = from; lv < end;)
    {
      const TandemOpRun *run = tandem_op_log_find (self->ops, lv);
      guint32 offset = lv - run->lv;
      guint32 len = run->lv + run->len - lv;
      guint32 pos = run->pos;
      guint32 previous;
      guint n;
      const guint32 *parents = parents_of (self, lv, &n, &previous);
      gboolean follows = n == 1 && lv > 0 && parents[0] == lv - 1;
      guint8 flags = run->kind | (follows << 2);

      if (run->kind == TANDEM_OP_INSERT)
        pos += offset;
      else if (run->kind == TANDEM_OP_DELETE_BACKWARD)
        pos -= offset;
      g_byte_array_append (out, &flags, 1);
      put_varint (out, len);
      put_varint (out, zigzag ((gint64) pos - previous_pos));
      previous_pos = pos;
      if (!follows)
        put_varint (out, offset ? tandem_op_log_length_after (self->ops, lv - 1) : run->length_before);
      if (run->kind == TANDEM_OP_INSERT)
        {
          gsize n_bytes;
          const char *text = tandem_op_log_get_text (self->ops, run, offset, len, &n_bytes);

          g_byte_array_append (out, (const guint8 *) text, n_bytes);
        }
      lv += len;
    }

  for (guint32 lv = from; lv < end; lv++)
    n_fields += g_hash_table_contains (self->field_events, GUINT_TO_POINTER (lv));
  put_varint (out, n_fields);
  for (guint32 lv = from; lv < end && n_fields > 0; lv++)
    {
      TandemEvent *field = g_hash_table_lookup (self->field_events, GUINT_TO_POINTER (lv));
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *json = NULL;

      if (field == NULL)
        continue;
      node = tandem_event_to_json (field);
      json = tandem_json_to_string (node, NULL);
      put_varint (out, strlen (json));
      g_byte_array_append (out, (const guint8 *) json, strlen (json));
    }
  put_varint (out, tandem_rope_get_length (self->doc));

  {
    guint8 digest[16];
    gsize digest_len = sizeof digest;
    g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_MD5);

    g_checksum_update (sum, out->data, out->len);
    g_checksum_get_digest (sum, digest, &digest_len);
    g_byte_array_append (out, digest, sizeof digest);
  }
  if (out->len > COMPRESS_FROM)
    {
      g_autoptr(GZlibCompressor) zlib = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 6);
      g_autoptr(GByteArray) packed = convert_all (G_CONVERTER (zlib), out->data, out->len, G_MAXSIZE);

      if (packed != NULL && packed->len + 4 < out->len)
        {
          g_byte_array_prepend (packed, (const guint8 *) MAGIC_COMPRESSED, 4);
          return g_byte_array_free_to_bytes (g_steal_pointer (&packed));
        }
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
get_varint (Reader  *r,
            guint64 *v)
{
  guint shift = 0;

  *v = 0;
  while (r->at < r->len && shift < 64)
    {
      guint8 b = r->data[r->at++];

      *v |= (guint64) (b & 0x7f) << shift;
      if (!(b & 0x80))
        return TRUE;
      shift += 7;
    }
  return FALSE;
}

static gboolean
get_u32 (Reader  *r,
         guint32 *v)
{
  guint64 wide;

  if (!get_varint (r, &wide) || wide > G_MAXUINT32)
    return FALSE;
  *v = (guint32) wide;
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
  g_autoptr(GArray) peers = g_array_new (FALSE, FALSE, sizeof (guint64));
  guint32 n_runs;

  if (!get_u32 (r, &n_runs))
    return damaged (error, "it ends early");
  for (guint32 i = 0; i < n_runs; i++)
    {
      guint32 len, index, n_parents;
      guint64 peer;
      guint32 parents[TANDEM_EVENT_MAX_PARENTS];
      guint32 lv = tandem_event_graph_get_length (self->graph);

      if (!get_u32 (r, &len) || !get_u32 (r, &index))
        return damaged (error, "it ends early");
      if (len == 0 || len > G_MAXUINT32 - 1 - lv)
        return damaged (error, "events are missing or out of order");
      if (index == peers->len)
        {
          const char *bytes;

          if (!get_bytes (r, 8, &bytes))
            return damaged (error, "it ends early");
          memcpy (&peer, bytes, 8);
          peer = GUINT64_FROM_LE (peer);
          g_array_append_val (peers, peer);
        }
      else if (index < peers->len)
        peer = g_array_index (peers, guint64, index);
      else
        return damaged (error, "an event names an unknown peer");
      if (!get_u32 (r, &n_parents))
        return damaged (error, "it ends early");
      if (n_parents > TANDEM_EVENT_MAX_PARENTS)
        return damaged (error, "an event has too many parents");
      for (guint32 k = 0; k < n_parents; k++)
        {
          guint32 back;

          if (!get_u32 (r, &back) || back == 0 || back > lv)
            return damaged (error, "an event names a parent that is not before it");
          parents[k] = lv - back;
        }
      tandem_event_graph_add (self->graph, peer, tandem_version_vector_get (tandem_event_graph_get_version (self->graph), peer),
                              len, parents, n_parents);
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
  gint64 previous_pos = 0;

  if (!get_u32 (r, &n_runs))
    return damaged (error, "it ends early");
  for (guint32 i = 0; i < n_runs; i++)
    {
      guint32 lv = tandem_op_log_get_length (self->ops);
      guint32 len, length_before, kind;
      guint64 delta;
      gint64 pos;
      const char *text = NULL, *text_end;
      guint32 previous;
      guint n_parents;
      const guint32 *parents;
      gboolean follows;
      const char *flags;

      if (!get_bytes (r, 1, &flags) || !get_u32 (r, &len) || !get_varint (r, &delta))
        return damaged (error, "it ends early");
      kind = (guint8) flags[0] & 3;
      pos = previous_pos + unzigzag (delta);
      previous_pos = pos;
      if ((guint8) flags[0] > 7 || len == 0 || len > end - lv || pos < 0 || pos > G_MAXUINT32 ||
          (kind == TANDEM_OP_FIELD && len != 1))
        return damaged (error, "an operation does not match the events");
      parents = parents_of (self, lv, &n_parents, &previous);
      follows = n_parents == 1 && lv > 0 && parents[0] == lv - 1;
      if (follows != ((flags[0] & 4) != 0))
        return damaged (error, "an operation does not match the events");
      if (follows)
        length_before = tandem_op_log_length_after (self->ops, lv - 1);
      else if (!get_u32 (r, &length_before))
        return damaged (error, "it ends early");
      if (kind == TANDEM_OP_INSERT)
        {
          /* len code points of UTF-8, checked one by one */
          text = text_end = (const char *) r->data + r->at;
          for (guint32 k = 0; k < len; k++)
            {
              gunichar c;

              if (text_end >= (const char *) r->data + r->len)
                return damaged (error, "it ends early");
              c = g_utf8_get_char_validated (text_end, (const char *) r->data + r->len - text_end);
              if (c == (gunichar) -1 || c == (gunichar) -2 || c == 0)
                return damaged (error, "inserted text is not valid");
              text_end = g_utf8_next_char (text_end);
            }
          r->at = (const guint8 *) text_end - r->data;
        }
      if (!(kind == TANDEM_OP_INSERT ? pos <= length_before :
            kind == TANDEM_OP_DELETE_FORWARD ? pos + len <= length_before :
            kind == TANDEM_OP_DELETE_BACKWARD ? pos < length_before && pos + 1 >= len : TRUE))
        return damaged (error, "an operation reaches outside the text");
      tandem_op_log_append (self->ops, kind, pos, len, text, text ? text_end - text : 0, length_before, follows);
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
      g_autoptr(GByteArray) unpacked = NULL;

      if (len >= 4 && memcmp (data, MAGIC_COMPRESSED, 4) == 0)
        {
          g_autoptr(GZlibDecompressor) zlib = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB);

          unpacked = convert_all (G_CONVERTER (zlib), data + 4, len - 4, MAX_HISTORY_BYTES);
          if (unpacked == NULL)
            {
              damaged (error, "it cannot be decompressed");
              return NULL;
            }
          data = unpacked->data;
          len = unpacked->len;
        }
      Reader r = { data, len - 16, 4 };
      guint32 first;
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
      if (!get_u32 (&r, &first) || first != tandem_event_graph_get_length (note->graph))
        {
          damaged (error, "a piece of it is missing");
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

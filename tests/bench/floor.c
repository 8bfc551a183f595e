/* SPDX-License-Identifier: GPL-3.0-or-later */
/* floor.c: the speed floor for the Tandem benchmark.
 *
 * Replays a sequential editing trace into a plain in-memory gap buffer of
 * code points, with no history, no CRDT metadata and no undo: about the
 * least work an editor can do, so "Tandem / floor" says how much Tandem's
 * history and merge bookkeeping cost on top of just editing the text.
 *
 *   bench-floor TRACE.json.gz [--repeat N]
 *
 * Prints one JSON line:
 *   {"events":N,"final_length":L,"matches_end":true,"replay_ms":X,"buffer_kb":K}
 *
 * events counts keystrokes (inserted + deleted code points), as the
 * Eg-walker paper does; buffer_kb is the gap buffer's allocation (4 bytes
 * per code point plus the gap).  Only applying the patches is timed: parsing,
 * decompression and building the patch array happen before the clock starts,
 * so the number is comparable to the JS peers, which also pre-parse.
 */

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct
{
  guint32 pos;
  guint32 del_len;
  guint32 ins_off;   /* into Trace.ins_text */
  guint32 ins_len;
} Patch;

typedef struct
{
  GArray *patches;   /* Patch */
  GArray *ins_text;  /* gunichar: every patch's inserted text, back to back */
  char *end_content;
  guint64 keystrokes;
} Trace;

typedef struct
{
  gunichar *buf;
  gsize size;       /* capacity in code points */
  gsize gap_start;  /* the gap is [gap_start, gap_end) */
  gsize gap_end;
} GapBuffer;

static double
now_ms (void)
{
  struct timespec ts;

  /* g_get_monotonic_time() only has microseconds; the small cases want more. */
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static JsonNode *
load_json_gz (const char *path, GError **error)
{
  g_autoptr(GFile) file = g_file_new_for_commandline_arg (path);
  g_autoptr(GFileInputStream) raw = NULL;
  g_autoptr(GZlibDecompressor) gunzip = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  raw = g_file_read (file, NULL, error);
  if (raw == NULL)
    return NULL;
  gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  stream = g_converter_input_stream_new (G_INPUT_STREAM (raw), G_CONVERTER (gunzip));
  if (!json_parser_load_from_stream (parser, stream, NULL, error))
    return NULL;
  return json_node_copy (json_parser_get_root (parser));
}

static gboolean
load_trace (const char *path, Trace *trace, GError **error)
{
  g_autoptr(JsonNode) root = load_json_gz (path, error);
  JsonObject *obj;
  JsonArray *txns;

  if (root == NULL)
    return FALSE;
  obj = json_node_get_object (root);
  if (obj == NULL || !json_object_has_member (obj, "txns"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s is not an editing trace", path);
      return FALSE;
    }

  trace->patches = g_array_new (FALSE, FALSE, sizeof (Patch));
  trace->ins_text = g_array_new (FALSE, FALSE, sizeof (gunichar));
  trace->end_content = g_strdup (json_object_get_string_member (obj, "endContent"));
  trace->keystrokes = 0;

  txns = json_object_get_array_member (obj, "txns");
  for (guint t = 0; t < json_array_get_length (txns); t++)
    {
      JsonObject *txn = json_array_get_object_element (txns, t);
      JsonArray *patches = json_object_get_array_member (txn, "patches");

      /* A concurrent-format file whose history is one straight line (the
       * paper's S1-S3) is a sequential trace too; a real fork is not. */
      if (json_object_has_member (txn, "parents"))
        {
          JsonArray *parents = json_object_get_array_member (txn, "parents");
          guint n = json_array_get_length (parents);

          if (t == 0 ? n != 0 : n != 1 || json_array_get_int_element (parents, 0) != t - 1)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "%s has concurrent edits; the floor only replays linear histories",
                           path);
              return FALSE;
            }
        }

      for (guint p = 0; p < json_array_get_length (patches); p++)
        {
          JsonArray *jp = json_array_get_array_element (patches, p);
          const char *text = json_array_get_string_element (jp, 2);
          Patch patch = {
            .pos = json_array_get_int_element (jp, 0),
            .del_len = json_array_get_int_element (jp, 1),
            .ins_off = trace->ins_text->len,
          };

          for (const char *c = text; *c; c = g_utf8_next_char (c))
            {
              gunichar ch = g_utf8_get_char (c);
              g_array_append_val (trace->ins_text, ch);
            }
          patch.ins_len = trace->ins_text->len - patch.ins_off;
          trace->keystrokes += patch.del_len + patch.ins_len;
          g_array_append_val (trace->patches, patch);
        }
    }
  return TRUE;
}

static gsize
gap_buffer_length (const GapBuffer *gb)
{
  return gb->size - (gb->gap_end - gb->gap_start);
}

static void
gap_buffer_move_gap (GapBuffer *gb, gsize pos)
{
  if (pos < gb->gap_start)
    {
      gsize n = gb->gap_start - pos;
      memmove (gb->buf + gb->gap_end - n, gb->buf + pos, n * sizeof (gunichar));
      gb->gap_start -= n;
      gb->gap_end -= n;
    }
  else if (pos > gb->gap_start)
    {
      gsize n = pos - gb->gap_start;
      memmove (gb->buf + gb->gap_start, gb->buf + gb->gap_end, n * sizeof (gunichar));
      gb->gap_start += n;
      gb->gap_end += n;
    }
}

static void
gap_buffer_reserve (GapBuffer *gb, gsize n)
{
  gsize tail, new_size;

  if (gb->gap_end - gb->gap_start >= n)
    return;
  /* Doubling keeps growth amortised O(1) per inserted code point. */
  new_size = MAX (gb->size * 2, gap_buffer_length (gb) + n + 64);
  tail = gb->size - gb->gap_end;
  gb->buf = g_renew (gunichar, gb->buf, new_size);
  memmove (gb->buf + new_size - tail, gb->buf + gb->gap_end, tail * sizeof (gunichar));
  gb->gap_end = new_size - tail;
  gb->size = new_size;
}

static void
gap_buffer_splice (GapBuffer *gb, gsize pos, gsize del_len,
                   const gunichar *ins, gsize ins_len)
{
  gap_buffer_move_gap (gb, pos);
  gb->gap_end += del_len;
  gap_buffer_reserve (gb, ins_len);
  memcpy (gb->buf + gb->gap_start, ins, ins_len * sizeof (gunichar));
  gb->gap_start += ins_len;
}

static char *
gap_buffer_dup_utf8 (GapBuffer *gb)
{
  gsize len = gap_buffer_length (gb);

  gap_buffer_move_gap (gb, len);
  return g_ucs4_to_utf8 (gb->buf, len, NULL, NULL, NULL);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) ctx = g_option_context_new ("TRACE.json.gz");
  g_autoptr(GString) expected = g_string_new (NULL);
  g_autofree char *result = NULL;
  int repeat = 1;
  GOptionEntry entries[] = {
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat,
      "Apply the whole trace N times on top of its own result", "N" },
    G_OPTION_ENTRY_NULL
  };
  Trace trace;
  GapBuffer gb = { 0 };
  const Patch *patches;
  const gunichar *ins;
  double t0, t1;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2 || repeat < 1)
    {
      g_printerr ("usage: %s TRACE.json.gz [--repeat N]%s%s\n", g_get_prgname (),
                  error ? ": " : "", error ? error->message : "");
      return 2;
    }
  if (!load_trace (argv[1], &trace, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  patches = (const Patch *) trace.patches->data;
  ins = (const gunichar *) trace.ins_text->data;
  /* Allocate before the clock starts: the first large malloc() after the
   * JSON tree was freed makes glibc consolidate ~a million freed chunks,
   * which would otherwise be timed as if it were editing (it tripled the
   * automerge-paper time). */
  gap_buffer_reserve (&gb, 4096);

  t0 = now_ms ();
  for (int r = 0; r < repeat; r++)
    for (guint i = 0; i < trace.patches->len; i++)
      gap_buffer_splice (&gb, patches[i].pos, patches[i].del_len,
                         ins + patches[i].ins_off, patches[i].ins_len);
  t1 = now_ms ();

  /* Each repeat rebuilds the document in front of the previous copy
   * (positions are absolute from 0), so the result is endContent x N. */
  for (int r = 0; r < repeat; r++)
    g_string_append (expected, trace.end_content);
  result = gap_buffer_dup_utf8 (&gb);

  printf ("{\"events\":%" G_GUINT64_FORMAT ",\"final_length\":%" G_GSIZE_FORMAT
          ",\"matches_end\":%s,\"replay_ms\":%.3f,\"buffer_kb\":%" G_GSIZE_FORMAT "}\n",
          trace.keystrokes * repeat, gap_buffer_length (&gb),
          g_strcmp0 (result, expected->str) == 0 ? "true" : "false",
          t1 - t0, gb.size * sizeof (gunichar) / 1024);

  g_free (gb.buf);
  g_array_unref (trace.patches);
  g_array_unref (trace.ins_text);
  g_free (trace.end_content);
  return 0;
}

/* test-text-merge.c: the text merge against reference results
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The conformance cases (1000 event graphs with the text diamond-types
 * produced, from github.com/josephg/eg-walker-reference, BSD-2-Clause,
 * Joseph Gentle) live beside the repository in ../shared/conformance; the
 * test is skipped with a message when they are absent.
 */
#include <json-glib/json-glib.h>

#include "tandem-note.h"

typedef struct
{
  GPtrArray *events;        /* TandemEvent runs, in file order */
  char *expected;
} Case;

static void
case_clear (Case *c)
{
  g_clear_pointer (&c->events, g_ptr_array_unref);
  g_clear_pointer (&c->expected, g_free);
}

typedef struct
{
  const char *agent;
  gint64 seq_start;
  guint txn;
} TxnKey;

static int
compare_txns (gconstpointer a,
              gconstpointer b)
{
  const TxnKey *x = a, *y = b;
  int c = strcmp (x->agent, y->agent);

  if (c != 0)
    return c;
  return x->seq_start < y->seq_start ? -1 : x->seq_start > y->seq_start;
}

/* Turns one conformance case into runs. Its agents edit concurrently with
 * themselves, which our peers never do (a peer's events form a chain, so
 * that version vectors describe sets). So every txn becomes its own peer,
 * numbered in (agent, seqStart) order: ties between concurrent inserts,
 * decided by (agent, seq) in the reference, come out the same. */
static void
load_case (JsonObject *obj,
           Case       *out)
{
  JsonArray *txns = json_object_get_array_member (obj, "txns");
  g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (TxnKey));
  g_autofree guint64 *peer_of_txn = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (TandemEventId));   /* event number -> id */

  out->events = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  out->expected = g_strdup (json_object_get_string_member (obj, "endContent"));

  for (guint t = 0; t < json_array_get_length (txns); t++)
    {
      JsonObject *txn = json_array_get_object_element (txns, t);
      TxnKey key = { json_object_get_string_member (txn, "agent"),
                     json_object_get_int_member (txn, "seqStart"), t };

      g_array_append_val (keys, key);
    }
  g_array_sort (keys, compare_txns);
  peer_of_txn = g_new0 (guint64, keys->len);
  for (guint i = 0; i < keys->len; i++)
    peer_of_txn[g_array_index (keys, TxnKey, i).txn] = i + 1;

  for (guint t = 0; t < json_array_get_length (txns); t++)
    {
      JsonObject *txn = json_array_get_object_element (txns, t);
      JsonArray *parents = json_object_get_array_member (txn, "parents");
      JsonArray *ops = json_object_get_array_member (txn, "ops");
      guint64 peer = peer_of_txn[t], seq = 0;
      g_autoptr(GArray) heads = g_array_new (FALSE, FALSE, sizeof (TandemEventId));

      for (guint i = 0; i < json_array_get_length (parents); i++)
        g_array_append_val (heads, g_array_index (ids, TandemEventId, json_array_get_int_element (parents, i)));

      for (guint o = 0; o < json_array_get_length (ops); o++)
        {
          JsonArray *op = json_array_get_array_element (ops, o);
          guint32 pos = json_array_get_int_element (op, 0);
          guint32 del = json_array_get_int_element (op, 1);
          const char *text = json_array_get_string_element (op, 2);
          guint32 n = g_utf8_strlen (text, -1);
          TandemEvent *e;

          if (del > 0)
            e = tandem_event_new_text (peer, seq, (TandemEventId *) heads->data, heads->len,
                                       TANDEM_OP_DELETE_FORWARD, pos, del, NULL);
          else
            e = tandem_event_new_text (peer, seq, (TandemEventId *) heads->data, heads->len,
                                       TANDEM_OP_INSERT, pos, n, text);
          g_ptr_array_add (out->events, e);
          for (guint k = 0; k < e->len; k++)
            {
              TandemEventId id = { peer, seq + k };
              g_array_append_val (ids, id);
            }
          seq += e->len;
          g_array_set_size (heads, 1);
          g_array_index (heads, TandemEventId, 0) = (TandemEventId) { peer, seq - 1 };
        }
    }
}

static GArray *
load_cases (void)
{
  const char *shared = g_getenv ("TANDEM_SHARED_DIR");
  g_autofree char *path = g_build_filename (shared ? shared : "../shared", "conformance", "conformance.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  GArray *cases;
  JsonArray *array;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  g_assert_true (json_parser_load_from_file (parser, path, NULL));
  array = json_node_get_array (json_parser_get_root (parser));
  cases = g_array_new (FALSE, TRUE, sizeof (Case));
  g_array_set_clear_func (cases, (GDestroyNotify) case_clear);
  g_array_set_size (cases, json_array_get_length (array));
  for (guint i = 0; i < cases->len; i++)
    load_case (json_array_get_object_element (array, i), &g_array_index (cases, Case, i));
  return cases;
}

static GArray *cases;

static gboolean
skip_without_cases (void)
{
  if (cases == NULL)
    {
      g_test_skip ("../shared/conformance is not here (set TANDEM_SHARED_DIR)");
      return TRUE;
    }
  return FALSE;
}

/* Each run arrives alone, in file order: the incremental merge. */
static void
test_conformance_one_by_one (void)
{
  if (skip_without_cases ())
    return;
  for (guint i = 0; i < cases->len; i++)
    {
      Case *c = &g_array_index (cases, Case, i);
      g_autoptr(TandemNote) note = tandem_note_new (G_MAXUINT64);
      g_autofree char *text = NULL;

      for (guint j = 0; j < c->events->len; j++)
        {
          g_autoptr(GError) error = NULL;

          tandem_note_receive (note, g_ptr_array_index (c->events, j), &error);
          g_assert_no_error (error);
        }
      text = tandem_note_dup_text (note);
      if (g_strcmp0 (text, c->expected) != 0)
        g_error ("case %u: expected “%s”, got “%s”", i, c->expected, text);
    }
}

/* All runs in one batch: the merge from the empty document. */
static void
test_conformance_batch (void)
{
  if (skip_without_cases ())
    return;
  for (guint i = 0; i < cases->len; i++)
    {
      Case *c = &g_array_index (cases, Case, i);
      g_autoptr(TandemNote) note = tandem_note_new (G_MAXUINT64);
      g_autoptr(GPtrArray) errors = NULL;
      g_autofree char *text = NULL;

      g_assert_true (tandem_note_receive_many (note, c->events, &errors));
      text = tandem_note_dup_text (note);
      if (g_strcmp0 (text, c->expected) != 0)
        g_error ("case %u: expected “%s”, got “%s”", i, c->expected, text);
    }
}

/* Runs cut into random pieces arrive in random order, some twice, many
 * before their parents: the causal buffer must sort it out. */
static void
test_conformance_shuffled (void)
{
  g_autoptr(GRand) rand = NULL;
  guint32 seed = g_test_rand_int ();

  if (skip_without_cases ())
    return;
  g_test_message ("seed %u", seed);
  rand = g_rand_new_with_seed (seed);
  for (guint i = 0; i < cases->len; i++)
    {
      Case *c = &g_array_index (cases, Case, i);
      g_autoptr(TandemNote) note = tandem_note_new (G_MAXUINT64);
      g_autoptr(GPtrArray) pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
      g_autofree char *text = NULL;

      for (guint j = 0; j < c->events->len; j++)
        {
          TandemEvent *e = g_ptr_array_index (c->events, j);

          for (guint32 off = 0; off < e->len;)
            {
              guint32 n = g_rand_int_range (rand, 1, e->len - off + 1);

              g_ptr_array_add (pieces, tandem_event_slice (e, off, n));
              if (g_rand_int_range (rand, 0, 10) == 0)
                g_ptr_array_add (pieces, tandem_event_slice (e, off, n));
              off += n;
            }
        }
      for (guint k = pieces->len; k > 1; k--)
        {
          guint j = g_rand_int_range (rand, 0, k);
          gpointer t = pieces->pdata[k - 1];

          pieces->pdata[k - 1] = pieces->pdata[j];
          pieces->pdata[j] = t;
        }
      for (guint j = 0; j < pieces->len; j++)
        {
          g_autoptr(GError) error = NULL;

          tandem_note_receive (note, g_ptr_array_index (pieces, j), &error);
          g_assert_no_error (error);
        }
      g_assert_cmpuint (tandem_note_get_n_pending (note), ==, 0);
      text = tandem_note_dup_text (note);
      if (g_strcmp0 (text, c->expected) != 0)
        g_error ("case %u (seed %u): expected “%s”, got “%s”", i, seed, c->expected, text);
    }
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  cases = load_cases ();
  g_test_add_func ("/engine/text-merge/conformance/one-by-one", test_conformance_one_by_one);
  g_test_add_func ("/engine/text-merge/conformance/batch", test_conformance_batch);
  g_test_add_func ("/engine/text-merge/conformance/shuffled", test_conformance_shuffled);
  ret = g_test_run ();
  g_clear_pointer (&cases, g_array_unref);
  return ret;
}

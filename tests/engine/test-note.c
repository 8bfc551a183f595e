/* test-note.c: local edits, receiving, undo and signals of TandemNote
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every test builds its peers in one process and moves events between them
 * by hand, so each delivery order is explicit. Randomised tests use fixed
 * seeds (printed with g_test_message()) so that a failure replays exactly.
 */
#include <string.h>

#include "tandem-engine-error.h"
#include "tandem-note.h"

#define PEER_A 0x1
#define PEER_B 0x2
#define PEER_C 0x3
#define PEER_D 0x4

/* ---- helpers ------------------------------------------------------------ */

static TandemEvent *
insert_ok (TandemNote *note,
           guint       pos,
           const char *text)
{
  g_autoptr(GError) error = NULL;
  TandemEvent *event = tandem_note_insert (note, pos, text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (event);
  return event;
}

static TandemEvent *
delete_ok (TandemNote *note,
           guint       pos,
           guint       len)
{
  g_autoptr(GError) error = NULL;
  TandemEvent *event = tandem_note_delete (note, pos, len, &error);

  g_assert_no_error (error);
  g_assert_nonnull (event);
  return event;
}

static void
receive_ok (TandemNote  *note,
            TandemEvent *event)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tandem_note_receive (note, event, &error));
  g_assert_no_error (error);
}

static void
receive_all (TandemNote *note,
             GPtrArray  *events)
{
  for (guint i = 0; i < events->len; i++)
    receive_ok (note, g_ptr_array_index (events, i));
}

/* Sends @to everything @from has that @to lacks. */
static void
send_missing (TandemNote *from,
              TandemNote *to)
{
  g_autoptr(GPtrArray) missing = tandem_note_dup_events_since (from, tandem_note_get_version (to));

  receive_all (to, missing);
}

static void
sync_pair (TandemNote *a,
           TandemNote *b)
{
  send_missing (a, b);
  send_missing (b, a);
}

static void
assert_text (TandemNote *note,
             const char *expected)
{
  g_autofree char *text = tandem_note_dup_text (note);

  g_assert_cmpstr (text, ==, expected);
  g_assert_cmpuint (tandem_note_get_length (note), ==, g_utf8_strlen (expected, -1));
}

static void
assert_converged (TandemNote *a,
                  TandemNote *b)
{
  g_autofree char *ta = tandem_note_dup_text (a);
  g_autofree char *tb = tandem_note_dup_text (b);

  g_assert_cmpstr (ta, ==, tb);
  g_assert_true (tandem_version_vector_equal (tandem_note_get_version (a), tandem_note_get_version (b)));
}

/* The parents a peer would give its next event: the note's frontier. */
static GArray *
frontier_of (TandemNote *note)
{
  g_autoptr(GPtrArray) frontier = tandem_note_dup_frontier (note);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (TandemEventId));

  for (guint i = 0; i < frontier->len; i++)
    g_array_append_val (ids, *(TandemEventId *) g_ptr_array_index (frontier, i));
  return ids;
}

/* A text run by @peer made on @note's current version, as a (possibly
 * malicious) peer could send it; nothing is checked. */
static TandemEvent *
forge_text (TandemNote   *note,
            guint64       peer,
            TandemOpKind  kind,
            guint32       pos,
            guint32       len,
            const char   *text)
{
  g_autoptr(GArray) parents = frontier_of (note);
  guint64 seq = tandem_version_vector_get (tandem_note_get_version (note), peer);

  return tandem_event_new_text (peer, seq, (TandemEventId *) parents->data, parents->len,
                                kind, pos, len, text);
}

/* What the note looks like; a rejected event must leave all of it alone. */
typedef struct
{
  char *text;
  TandemVersionVector *version;
  guint n_events;
  guint n_runs;
  guint n_pending;
} Snapshot;

static void
snapshot_take (Snapshot   *s,
               TandemNote *note)
{
  s->text = tandem_note_dup_text (note);
  s->version = tandem_version_vector_copy (tandem_note_get_version (note));
  s->n_events = tandem_note_get_n_events (note);
  s->n_runs = tandem_note_get_n_runs (note);
  s->n_pending = tandem_note_get_n_pending (note);
}

static void
snapshot_assert_same (Snapshot   *s,
                      TandemNote *note)
{
  g_autofree char *text = tandem_note_dup_text (note);

  g_assert_cmpstr (text, ==, s->text);
  g_assert_true (tandem_version_vector_equal (tandem_note_get_version (note), s->version));
  g_assert_cmpuint (tandem_note_get_n_events (note), ==, s->n_events);
  g_assert_cmpuint (tandem_note_get_n_runs (note), ==, s->n_runs);
  g_assert_cmpuint (tandem_note_get_n_pending (note), ==, s->n_pending);
}

static void
snapshot_clear (Snapshot *s)
{
  g_clear_pointer (&s->text, g_free);
  g_clear_pointer (&s->version, tandem_version_vector_free);
}

/* A plain model of the text that follows only the note's signals, plus
 * the local edits applied by hand: exactly what the GTK adapter does with
 * its GtkTextBuffer. */
typedef struct
{
  GString *text;
  guint n_inserted;
  guint n_deleted;
} Mirror;

static void
mirror_insert (Mirror     *m,
               guint       pos,
               const char *text)
{
  g_assert_cmpint (pos, <=, g_utf8_strlen (m->text->str, m->text->len));
  g_string_insert (m->text, g_utf8_offset_to_pointer (m->text->str, pos) - m->text->str, text);
}

static void
mirror_delete (Mirror *m,
               guint   pos,
               guint   len)
{
  const char *start, *end;

  g_assert_cmpint ((glong) pos + len, <=, g_utf8_strlen (m->text->str, m->text->len));
  start = g_utf8_offset_to_pointer (m->text->str, pos);
  end = g_utf8_offset_to_pointer (start, len);
  g_string_erase (m->text, start - m->text->str, end - start);
}

static void
text_inserted_cb (TandemNote *note,
                  guint       pos,
                  const char *text,
                  guint       len,
                  gpointer    user_data)
{
  Mirror *m = user_data;

  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_cmpint (g_utf8_strlen (text, -1), ==, len);
  g_assert_cmpuint (len, >, 0);
  mirror_insert (m, pos, text);
  m->n_inserted++;
}

static void
text_deleted_cb (TandemNote *note,
                 guint       pos,
                 guint       len,
                 gpointer    user_data)
{
  Mirror *m = user_data;

  mirror_delete (m, pos, len);
  m->n_deleted++;
}

static void
mirror_attach (Mirror     *m,
               TandemNote *note)
{
  g_autofree char *text = tandem_note_dup_text (note);

  m->text = g_string_new (text);
  m->n_inserted = m->n_deleted = 0;
  g_signal_connect (note, "text-inserted", G_CALLBACK (text_inserted_cb), m);
  g_signal_connect (note, "text-deleted", G_CALLBACK (text_deleted_cb), m);
}

static void
mirror_detach (Mirror     *m,
               TandemNote *note)
{
  g_signal_handlers_disconnect_by_data (note, m);
  g_string_free (m->text, TRUE);
  m->text = NULL;
}

static void
mirror_assert (Mirror     *m,
               TandemNote *note)
{
  g_autofree char *text = tandem_note_dup_text (note);

  g_assert_cmpstr (m->text->str, ==, text);
}

/* ---- local edits ---------------------------------------------------------- */

static void
test_local_insert_code_points (void)
{
  g_autoptr(TandemNote) note = tandem_note_new (PEER_A);
  g_autoptr(TandemEvent) e1 = NULL;
  g_autoptr(TandemEvent) e2 = NULL;
  g_autoptr(TandemEvent) e3 = NULL;

  e1 = insert_ok (note, 0, "e\u0301");
  /* a combining mark is a code point of its own */
  g_assert_cmpuint (e1->len, ==, 2);
  g_assert_cmpuint (e1->pos, ==, 0);
  g_assert_cmpuint (e1->seq, ==, 0);
  g_assert_cmpuint (e1->peer, ==, PEER_A);
  g_assert_cmpuint (e1->n_parents, ==, 0);
  g_assert_cmpint (e1->kind, ==, TANDEM_OP_INSERT);
  g_assert_cmpstr (e1->text, ==, "e\u0301");
  g_assert_cmpuint (tandem_note_get_length (note), ==, 2);
  g_assert_cmpuint (tandem_note_get_char (note, 0), ==, 'e');
  g_assert_cmpuint (tandem_note_get_char (note, 1), ==, 0x301);

  /* an emoji outside the BMP is one position, not two (UTF-16) or four (bytes) */
  e2 = insert_ok (note, 1, "😀");
  g_assert_cmpuint (e2->len, ==, 1);
  g_assert_cmpuint (e2->seq, ==, 2);
  g_assert_cmpuint (e2->n_parents, ==, 1);
  g_assert_cmpuint (e2->parents[0].peer, ==, PEER_A);
  g_assert_cmpuint (e2->parents[0].seq, ==, 1);
  assert_text (note, "e😀\u0301");
  g_assert_cmpuint (tandem_note_get_char (note, 1), ==, 0x1F600);
  g_assert_cmpuint (tandem_note_get_char (note, 2), ==, 0x301);

  e3 = insert_ok (note, 3, "日本語");
  g_assert_cmpuint (e3->len, ==, 3);
  assert_text (note, "e😀\u0301日本語");
  g_assert_cmpuint (tandem_note_get_length (note), ==, 6);
  g_assert_cmpuint (tandem_version_vector_get (tandem_note_get_version (note), PEER_A), ==, 6);
  g_assert_cmpuint (tandem_note_get_n_events (note), ==, 6);
}

static void
test_local_delete_code_points (void)
{
  g_autoptr(TandemNote) note = tandem_note_new (PEER_A);
  g_autoptr(TandemEvent) ins = insert_ok (note, 0, "a😀e\u0301b");
  g_assert_nonnull (ins);
  g_autoptr(TandemEvent) d1 = NULL;
  g_autoptr(TandemEvent) d2 = NULL;

  g_assert_cmpuint (tandem_note_get_length (note), ==, 5);

  /* delete only the combining mark */
  d1 = delete_ok (note, 3, 1);
  g_assert_cmpint (d1->kind, ==, TANDEM_OP_DELETE_FORWARD);
  g_assert_cmpuint (d1->pos, ==, 3);
  g_assert_cmpuint (d1->len, ==, 1);
  g_assert_null (d1->text);
  g_assert_cmpuint (d1->seq, ==, 5);
  assert_text (note, "a😀eb");

  /* delete the emoji and the e */
  d2 = delete_ok (note, 1, 2);
  g_assert_cmpuint (d2->seq, ==, 6);
  g_assert_cmpuint (d2->len, ==, 2);
  assert_text (note, "ab");
  g_assert_cmpuint (tandem_version_vector_get (tandem_note_get_version (note), PEER_A), ==, 8);
}

static void
test_local_errors (void)
{
  g_autoptr(TandemNote) note = tandem_note_new (PEER_A);
  g_autoptr(TandemEvent) ins = insert_ok (note, 0, "a😀c");
  g_assert_nonnull (ins);
  Snapshot before;
  struct
  {
    const char *text;
    guint pos;
    int code;
  } bad_inserts[] = {
    { "\xc3(", 0, TANDEM_ENGINE_ERROR_INVALID_EVENT },       /* truncated sequence */
    { "ok\xff", 1, TANDEM_ENGINE_ERROR_INVALID_EVENT },
    { "\xed\xa0\x80", 0, TANDEM_ENGINE_ERROR_INVALID_EVENT }, /* a UTF-16 surrogate */
    { "", 0, TANDEM_ENGINE_ERROR_INVALID_EVENT },
    { "x", 4, TANDEM_ENGINE_ERROR_INVALID_POSITION },
    { "x", 100, TANDEM_ENGINE_ERROR_INVALID_POSITION },
    { "x", G_MAXUINT, TANDEM_ENGINE_ERROR_INVALID_POSITION },
  };
  struct
  {
    guint pos;
    guint len;
    int code;
  } bad_deletes[] = {
    { 0, 0, TANDEM_ENGINE_ERROR_INVALID_EVENT },
    { 3, 1, TANDEM_ENGINE_ERROR_INVALID_POSITION },
    { 2, 2, TANDEM_ENGINE_ERROR_INVALID_POSITION },
    { 0, 4, TANDEM_ENGINE_ERROR_INVALID_POSITION },
    { G_MAXUINT, 1, TANDEM_ENGINE_ERROR_INVALID_POSITION },
    { 1, TANDEM_EVENT_MAX_LEN, TANDEM_ENGINE_ERROR_INVALID_POSITION },
  };

  g_assert_true (tandem_note_can_undo (note));
  snapshot_take (&before, note);

  for (guint i = 0; i < G_N_ELEMENTS (bad_inserts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TandemEvent) e = tandem_note_insert (note, bad_inserts[i].pos, bad_inserts[i].text, &error);

      g_assert_null (e);
      g_assert_error (error, TANDEM_ENGINE_ERROR, bad_inserts[i].code);
      g_assert_nonnull (error->message);
      snapshot_assert_same (&before, note);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad_deletes); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TandemEvent) e = tandem_note_delete (note, bad_deletes[i].pos, bad_deletes[i].len, &error);

      g_assert_null (e);
      g_assert_error (error, TANDEM_ENGINE_ERROR, bad_deletes[i].code);
      snapshot_assert_same (&before, note);
    }

  /* nothing failed went to the undo stack: one undo empties the note */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) made = tandem_note_undo (note, &error);

    g_assert_no_error (error);
    g_assert_nonnull (made);
    assert_text (note, "");
    g_assert_false (tandem_note_can_undo (note));
  }

  /* the seq counter did not move either: the next event follows on */
  {
    g_autoptr(TandemEvent) next = insert_ok (note, 0, "z");

    g_assert_cmpuint (next->seq, ==, 6);
  }
  snapshot_clear (&before);
}

/* ---- receiving ------------------------------------------------------------- */

static void
test_receive_duplicates (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) hello = insert_ok (a, 0, "hello");
  g_autoptr(TandemEvent) world = NULL;
  Snapshot s;

  /* whole duplicates */
  receive_ok (b, hello);
  snapshot_take (&s, b);
  receive_ok (b, hello);
  snapshot_assert_same (&s, b);
  snapshot_clear (&s);
  assert_text (b, "hello");

  /* partially overlapping runs: the known head is dropped */
  world = insert_ok (a, 5, "wörld");
  {
    g_autoptr(TandemEvent) head = tandem_event_slice (world, 0, 2);
    g_autoptr(TandemEvent) mid = tandem_event_slice (world, 1, 3);
    g_autoptr(TandemEvent) tail = tandem_event_slice (world, 3, 2);

    g_assert_cmpstr (head->text, ==, "wö");
    g_assert_cmpstr (mid->text, ==, "örl");
    g_assert_cmpuint (mid->pos, ==, 6);
    g_assert_cmpuint (mid->parents[0].seq, ==, 5);

    receive_ok (b, head);
    assert_text (b, "hellowö");
    receive_ok (b, mid);
    assert_text (b, "hellowörl");
    receive_ok (b, world);
    assert_text (b, "hellowörld");
    snapshot_take (&s, b);
    receive_ok (b, tail);
    receive_ok (b, head);
    receive_ok (b, world);
    snapshot_assert_same (&s, b);
    snapshot_clear (&s);
  }

  /* forward delete runs */
  {
    g_autoptr(TandemEvent) del = delete_ok (a, 1, 3);
    g_autoptr(TandemEvent) first = tandem_event_slice (del, 0, 1);

    g_assert_cmpuint (first->pos, ==, 1);
    receive_ok (b, first);
    assert_text (b, "hllowörld");
    receive_ok (b, del);
    assert_text (b, "howörld");
    receive_ok (b, first);
    assert_text (b, "howörld");
  }

  /* backspace runs: "howörld" minus d, l, r from the end */
  {
    g_autoptr(TandemEvent) bksp = forge_text (a, PEER_A, TANDEM_OP_DELETE_BACKWARD, 6, 3, NULL);
    g_autoptr(TandemEvent) first = tandem_event_slice (bksp, 0, 1);
    g_autoptr(TandemEvent) second = tandem_event_slice (bksp, 1, 2);

    g_assert_cmpuint (second->pos, ==, 5);
    receive_ok (a, bksp);
    assert_text (a, "howö");
    receive_ok (b, first);
    assert_text (b, "howörl");
    receive_ok (b, bksp);
    assert_text (b, "howö");
    receive_ok (b, second);
    receive_ok (b, bksp);
    assert_text (b, "howö");
  }

  assert_converged (a, b);
  g_assert_cmpuint (tandem_note_get_n_pending (b), ==, 0);
  g_assert_cmpuint (tandem_note_get_n_events (b), ==, tandem_note_get_n_events (a));
}

/* The editor deletes one character at a time. A row of backspaces or of
 * forward deletes is one run, whichever kind the first delete was taken
 * for, so a history with many of them stays small to keep and to send. */
static void
test_local_delete_runs (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemVersionVector) none = tandem_version_vector_new ();
  g_autoptr(GPtrArray) all = NULL;
  guint runs;

  tandem_event_unref (insert_ok (a, 0, "abcdefghij"));
  runs = tandem_note_get_n_runs (a);

  /* backspace from the end: j, i, h */
  for (guint pos = 9; pos >= 7; pos--)
    tandem_event_unref (delete_ok (a, pos, 1));
  assert_text (a, "abcdefg");
  g_assert_cmpuint (tandem_note_get_n_runs (a), ==, runs + 1);

  /* then forward deletes at the start: a, b */
  tandem_event_unref (delete_ok (a, 0, 1));
  tandem_event_unref (delete_ok (a, 0, 1));
  assert_text (a, "cdefg");
  g_assert_cmpuint (tandem_note_get_n_runs (a), ==, runs + 2);

  /* a backspace that does not follow on is a run of its own */
  tandem_event_unref (delete_ok (a, 3, 1));
  assert_text (a, "cdeg");
  g_assert_cmpuint (tandem_note_get_n_runs (a), ==, runs + 3);

  all = tandem_note_dup_events_since (a, none);
  g_assert_cmpuint (all->len, ==, 4);
  g_assert_cmpint (((TandemEvent *) all->pdata[1])->kind, ==, TANDEM_OP_DELETE_BACKWARD);
  g_assert_cmpuint (((TandemEvent *) all->pdata[1])->pos, ==, 9);
  g_assert_cmpuint (((TandemEvent *) all->pdata[1])->len, ==, 3);
  g_assert_cmpint (((TandemEvent *) all->pdata[2])->kind, ==, TANDEM_OP_DELETE_FORWARD);
  g_assert_cmpuint (((TandemEvent *) all->pdata[2])->len, ==, 2);
  for (guint i = 0; i < all->len; i++)
    receive_ok (b, all->pdata[i]);
  assert_converged (a, b);
}

static void
test_receive_causal_buffer (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemNote) c = tandem_note_new (PEER_C);
  g_autoptr(TandemEvent) a1 = insert_ok (a, 0, "one");
  g_autoptr(TandemEvent) a2 = insert_ok (a, 3, " two");
  g_autoptr(TandemEvent) a3 = delete_ok (a, 0, 1);
  g_autoptr(TandemEvent) b1 = NULL;

  receive_ok (b, a1);
  receive_ok (b, a2);
  b1 = insert_ok (b, 7, "!");      /* depends on a2, by another peer */

  /* c gets everything backwards */
  receive_ok (c, b1);
  g_assert_cmpuint (tandem_note_get_n_pending (c), ==, 1);
  receive_ok (c, a3);
  g_assert_cmpuint (tandem_note_get_n_pending (c), ==, 2);
  receive_ok (c, a2);
  g_assert_cmpuint (tandem_note_get_n_pending (c), ==, 3);
  /* a duplicate of a waiting run waits once */
  receive_ok (c, a2);
  g_assert_cmpuint (tandem_note_get_n_pending (c), ==, 3);
  assert_text (c, "");
  g_assert_cmpuint (tandem_version_vector_total (tandem_note_get_version (c)), ==, 0);
  {
    g_autoptr(GPtrArray) pending = tandem_note_dup_pending (c);

    g_assert_cmpuint (pending->len, ==, 3);
  }

  /* the root arrives and releases the rest */
  receive_ok (c, a1);
  g_assert_cmpuint (tandem_note_get_n_pending (c), ==, 0);
  receive_ok (a, b1);
  assert_text (a, "ne two!");
  assert_converged (a, c);
  sync_pair (b, c);
  assert_converged (b, c);
}

static void
test_receive_invalid_fast_path (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) ab = insert_ok (a, 0, "ab");
  Snapshot s;
  struct
  {
    TandemOpKind kind;
    guint32 pos;
    guint32 len;
    const char *text;
    int code;
  } cases[] = {
    { TANDEM_OP_INSERT, 0, 1, "\xff", TANDEM_ENGINE_ERROR_INVALID_EVENT },
    { TANDEM_OP_INSERT, 0, 2, "a\xc3", TANDEM_ENGINE_ERROR_INVALID_EVENT },
    { TANDEM_OP_INSERT, 0, 2, "x", TANDEM_ENGINE_ERROR_INVALID_EVENT },        /* len > text */
    { TANDEM_OP_INSERT, 0, 1, "😀😀", TANDEM_ENGINE_ERROR_INVALID_EVENT },     /* len < text */
    { TANDEM_OP_INSERT, 0, 0, "", TANDEM_ENGINE_ERROR_INVALID_EVENT },
    { TANDEM_OP_INSERT, 0, 1, NULL, TANDEM_ENGINE_ERROR_INVALID_EVENT },
    { TANDEM_OP_INSERT, 3, 1, "x", TANDEM_ENGINE_ERROR_INVALID_POSITION },
    { TANDEM_OP_INSERT, G_MAXUINT32, 1, "x", TANDEM_ENGINE_ERROR_INVALID_POSITION },
    { TANDEM_OP_DELETE_FORWARD, 2, 1, NULL, TANDEM_ENGINE_ERROR_INVALID_POSITION },
    { TANDEM_OP_DELETE_FORWARD, 1, 2, NULL, TANDEM_ENGINE_ERROR_INVALID_POSITION },
    { TANDEM_OP_DELETE_FORWARD, G_MAXUINT32, 2, NULL, TANDEM_ENGINE_ERROR_INVALID_POSITION },
    { TANDEM_OP_DELETE_FORWARD, 0, 1, "a", TANDEM_ENGINE_ERROR_INVALID_EVENT },   /* a delete with text */
    { TANDEM_OP_DELETE_BACKWARD, 2, 1, NULL, TANDEM_ENGINE_ERROR_INVALID_POSITION },
    { TANDEM_OP_DELETE_BACKWARD, 0, 2, NULL, TANDEM_ENGINE_ERROR_INVALID_EVENT },  /* before the start */
    { (TandemOpKind) 7, 0, 1, NULL, TANDEM_ENGINE_ERROR_INVALID_EVENT },
    { (TandemOpKind) -1, 0, 1, NULL, TANDEM_ENGINE_ERROR_INVALID_EVENT },
  };

  receive_ok (b, ab);
  snapshot_take (&s, b);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(TandemEvent) bad = forge_text (b, PEER_A, cases[i].kind, cases[i].pos, cases[i].len, cases[i].text);
      g_autoptr(GError) error = NULL;

      g_test_message ("case %u", i);
      g_assert_false (tandem_note_receive (b, bad, &error));
      g_assert_error (error, TANDEM_ENGINE_ERROR, cases[i].code);
      g_assert_cmpstr (error->message, !=, "");
      snapshot_assert_same (&s, b);
    }

  /* valid edge cases on the same version do go in */
  {
    g_autoptr(TandemEvent) at_end = forge_text (b, PEER_A, TANDEM_OP_INSERT, 2, 1, "c");
    g_autoptr(TandemEvent) bksp = NULL;

    receive_ok (b, at_end);
    assert_text (b, "abc");
    bksp = forge_text (b, PEER_A, TANDEM_OP_DELETE_BACKWARD, 2, 3, NULL);
    receive_ok (b, bksp);
    assert_text (b, "");
  }
  snapshot_clear (&s);
}

/* The same malformed positions, but the receiver has a concurrent edit, so
 * the event needs a merge to be checked at its parents. */
static void
test_receive_invalid_concurrent (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) ab = insert_ok (a, 0, "ab");
  g_autoptr(TandemEvent) xyz = NULL;
  g_autoptr(GArray) parents = NULL;
  Snapshot s;
  struct
  {
    TandemOpKind kind;
    guint32 pos;
    guint32 len;
    const char *text;
  } cases[] = {
    /* each fits in b's "abxyz" but not in "ab", the text at its parents */
    { TANDEM_OP_INSERT, 3, 1, "Q" },
    { TANDEM_OP_INSERT, 5, 2, "QQ" },
    { TANDEM_OP_DELETE_FORWARD, 2, 1, NULL },
    { TANDEM_OP_DELETE_FORWARD, 1, 3, NULL },
    { TANDEM_OP_DELETE_BACKWARD, 2, 1, NULL },
    { TANDEM_OP_DELETE_BACKWARD, 4, 3, NULL },
  };

  receive_ok (b, ab);
  parents = frontier_of (b);
  xyz = insert_ok (b, 2, "xyz");
  snapshot_take (&s, b);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(TandemEvent) bad = tandem_event_new_text (PEER_A, 2, (TandemEventId *) parents->data, parents->len,
                                                          cases[i].kind, cases[i].pos, cases[i].len,
                                                          cases[i].text);
      g_autoptr(GError) error = NULL;

      g_test_message ("case %u", i);
      g_assert_true (tandem_event_validate (bad, NULL));
      g_assert_false (tandem_note_receive (b, bad, &error));
      g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_POSITION);
      snapshot_assert_same (&s, b);
    }

  /* b is still sound: a valid concurrent run merges (lower peer left) */
  {
    g_autoptr(TandemEvent) good = tandem_event_new_text (PEER_A, 2, (TandemEventId *) parents->data, parents->len,
                                                         TANDEM_OP_INSERT, 2, 1, "Q");

    receive_ok (b, good);
    assert_text (b, "abQxyz");
    receive_ok (a, good);
    receive_ok (a, xyz);
    assert_converged (a, b);
  }
  snapshot_clear (&s);
}

/* A peer makes every event on a version holding its previous one. */
static void
test_receive_broken_own_chain (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemNote) c = tandem_note_new (PEER_C);
  g_autoptr(TandemEvent) a1 = insert_ok (a, 0, "a");
  g_autoptr(TandemEvent) b1 = insert_ok (b, 0, "b");
  g_autoptr(TandemEvent) bad = NULL;
  g_autoptr(GError) error = NULL;
  TandemEventId parent = { PEER_B, 0 };
  Snapshot s;

  receive_ok (c, a1);
  receive_ok (c, b1);
  snapshot_take (&s, c);
  /* a's second event claims to be made on b1 only, which never saw a1 */
  bad = tandem_event_new_text (PEER_A, 1, &parent, 1, TANDEM_OP_INSERT, 0, 1, "x");
  g_assert_true (tandem_event_validate (bad, NULL));
  g_assert_false (tandem_note_receive (c, bad, &error));
  g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT);
  snapshot_assert_same (&s, c);
  snapshot_clear (&s);
}

typedef struct
{
  GPtrArray *events;
  GPtrArray *errors;
} Rejections;

static void
event_rejected_cb (TandemNote  *note,
                   TandemEvent *event,
                   GError      *error,
                   gpointer     user_data)
{
  Rejections *r = user_data;

  g_ptr_array_add (r->events, tandem_event_ref (event));
  g_ptr_array_add (r->errors, g_error_copy (error));
}

static void
test_receive_rejected_from_buffer (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) ab = insert_ok (a, 0, "ab");
  g_autoptr(TandemEvent) bad = forge_text (a, PEER_A, TANDEM_OP_INSERT, 10, 1, "x");
  g_autoptr(TandemEvent) bad_del = NULL;
  Rejections r = {
    g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref),
    g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free),
  };
  TandemEventId parent = { PEER_A, 1 };

  g_signal_connect (b, "event-rejected", G_CALLBACK (event_rejected_cb), &r);

  /* it cannot be checked yet, so it waits */
  g_assert_true (tandem_note_receive (b, bad, NULL));
  g_assert_cmpuint (tandem_note_get_n_pending (b), ==, 1);
  g_assert_cmpuint (r.events->len, ==, 0);

  /* a concurrent one by another peer, also out of range at its parents */
  bad_del = tandem_event_new_text (PEER_C, 0, &parent, 1, TANDEM_OP_DELETE_FORWARD, 1, 5, NULL);
  g_assert_true (tandem_note_receive (b, bad_del, NULL));
  g_assert_cmpuint (tandem_note_get_n_pending (b), ==, 2);

  receive_ok (b, ab);
  assert_text (b, "ab");
  g_assert_cmpuint (tandem_note_get_n_pending (b), ==, 0);
  g_assert_cmpuint (r.events->len, ==, 2);
  for (guint i = 0; i < r.events->len; i++)
    {
      TandemEvent *e = g_ptr_array_index (r.events, i);
      GError *error = g_ptr_array_index (r.errors, i);

      g_assert_true (tandem_event_equal (e, bad) || tandem_event_equal (e, bad_del));
      g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_POSITION);
    }
  g_assert_cmpuint (tandem_version_vector_get (tandem_note_get_version (b), PEER_A), ==, 2);
  g_assert_cmpuint (tandem_version_vector_get (tandem_note_get_version (b), PEER_C), ==, 0);

  g_signal_handlers_disconnect_by_data (b, &r);
  g_ptr_array_unref (r.events);
  g_ptr_array_unref (r.errors);
}

/* ---- merging --------------------------------------------------------------- */

static void
check_tie (guint64     low,
           guint64     high,
           const char *expected)
{
  g_autoptr(TandemNote) lo = tandem_note_new (low);
  g_autoptr(TandemNote) hi = tandem_note_new (high);
  g_autoptr(TandemEvent) base = insert_ok (lo, 0, "[]");
  g_autoptr(TandemEvent) e_hi = NULL;
  g_autoptr(TandemEvent) e_lo = NULL;

  receive_ok (hi, base);
  /* the higher peer types first: arrival order must not matter */
  e_hi = insert_ok (hi, 1, "HI");
  e_lo = insert_ok (lo, 1, "lo");
  receive_ok (lo, e_hi);
  receive_ok (hi, e_lo);
  assert_text (lo, expected);
  assert_text (hi, expected);
}

static void
test_merge_lower_peer_left (void)
{
  check_tie (1, 2, "[loHI]");
  /* unsigned comparison: the top bit does not make an id negative */
  check_tie (G_GUINT64_CONSTANT (0x7fffffffffffffff), G_GUINT64_CONSTANT (0x8000000000000000), "[loHI]");
  check_tie (2, G_MAXUINT64, "[loHI]");

  /* three peers at one place, delivered in different orders */
  {
    g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
    g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
    g_autoptr(TandemNote) c = tandem_note_new (PEER_C);
    g_autoptr(TandemEvent) ea = insert_ok (a, 0, "a");
    g_autoptr(TandemEvent) eb = insert_ok (b, 0, "b");
    g_autoptr(TandemEvent) ec = insert_ok (c, 0, "c");

    receive_ok (a, ec);
    receive_ok (a, eb);
    receive_ok (b, ea);
    receive_ok (b, ec);
    receive_ok (c, eb);
    receive_ok (c, ea);
    assert_text (a, "abc");
    assert_text (b, "abc");
    assert_text (c, "abc");
  }
}

/* T09: forward and backward typing at one spot, one event per key. */
static void
test_merge_no_interleaving (void)
{
  const guint64 ids[] = { PEER_A, PEER_B, PEER_C, PEER_D };
  const char *words[] = { "hello", "world", "321", "zyx" };
  const guint orders[][4] = { { 0, 1, 2, 3 }, { 3, 2, 1, 0 }, { 2, 0, 3, 1 } };

  for (guint o = 0; o < G_N_ELEMENTS (orders); o++)
    {
      TandemNote *notes[4];
      GPtrArray *keys[4];

      for (guint i = 0; i < 4; i++)
        {
          notes[i] = tandem_note_new (ids[i]);
          keys[i] = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
          for (guint k = 0; words[i][k]; k++)
            {
              char key[2] = { words[i][k], 0 };

              /* a and b type forwards, c and d keep the cursor at the start */
              g_ptr_array_add (keys[i], insert_ok (notes[i], i < 2 ? k : 0, key));
            }
        }
      assert_text (notes[0], "hello");
      assert_text (notes[2], "123");
      assert_text (notes[3], "xyz");

      for (guint i = 0; i < 4; i++)
        for (guint j = 0; j < 4; j++)
          if (orders[o][j] != i)
            receive_all (notes[i], keys[orders[o][j]]);
      for (guint i = 0; i < 4; i++)
        {
          assert_text (notes[i], "helloworld123xyz");
          g_object_unref (notes[i]);
          g_ptr_array_unref (keys[i]);
        }
    }
}

/* ---- sync by version vector ------------------------------------------------- */

static guint64
total_len (GPtrArray *events)
{
  guint64 n = 0;

  for (guint i = 0; i < events->len; i++)
    n += ((TandemEvent *) g_ptr_array_index (events, i))->len;
  return n;
}

static void
test_events_since (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) hello = insert_ok (a, 0, "hello");
  g_autoptr(TandemVersionVector) common = NULL;
  g_autoptr(GPtrArray) a_missing = NULL;
  g_autoptr(GPtrArray) b_missing = NULL;

  receive_ok (b, hello);
  common = tandem_version_vector_copy (tandem_note_get_version (b));

  /* a run split by what the other side knows */
  {
    g_autoptr(TandemVersionVector) known = tandem_version_vector_new ();
    g_autoptr(GPtrArray) rest = NULL;
    TandemEvent *e;

    tandem_version_vector_set (known, PEER_A, 2);
    rest = tandem_note_dup_events_since (a, known);
    g_assert_cmpuint (rest->len, ==, 1);
    e = g_ptr_array_index (rest, 0);
    g_assert_cmpuint (e->peer, ==, PEER_A);
    g_assert_cmpuint (e->seq, ==, 2);
    g_assert_cmpuint (e->len, ==, 3);
    g_assert_cmpuint (e->pos, ==, 2);
    g_assert_cmpstr (e->text, ==, "llo");
    g_assert_cmpuint (e->n_parents, ==, 1);
    g_assert_cmpuint (e->parents[0].peer, ==, PEER_A);
    g_assert_cmpuint (e->parents[0].seq, ==, 1);
  }

  /* both sides go on concurrently, with a field write in the middle */
  tandem_event_unref (insert_ok (a, 5, " wörld"));
  tandem_event_unref (tandem_note_set_field (a, "color", g_variant_new_string ("red"), NULL));
  tandem_event_unref (delete_ok (a, 0, 1));
  tandem_event_unref (insert_ok (b, 0, "¡"));
  tandem_event_unref (delete_ok (b, 3, 2));

  a_missing = tandem_note_dup_events_since (a, tandem_note_get_version (b));
  b_missing = tandem_note_dup_events_since (b, tandem_note_get_version (a));

  /* exactly the missing events: nothing known, nothing twice, nothing left out */
  g_assert_cmpuint (total_len (a_missing), ==,
                    tandem_version_vector_total (tandem_note_get_version (a)) - tandem_version_vector_total (common));
  g_assert_cmpuint (total_len (b_missing), ==,
                    tandem_version_vector_total (tandem_note_get_version (b)) - tandem_version_vector_total (common));
  for (guint i = 0; i < a_missing->len; i++)
    {
      TandemEvent *e = g_ptr_array_index (a_missing, i);

      g_assert_true (tandem_event_validate (e, NULL));
      g_assert_cmpuint (e->seq, >=, tandem_version_vector_get (tandem_note_get_version (b), e->peer));
    }
  for (guint i = 0; i < b_missing->len; i++)
    {
      TandemEvent *e = g_ptr_array_index (b_missing, i);

      g_assert_cmpuint (e->peer, ==, PEER_B);
    }

  receive_all (b, a_missing);
  receive_all (a, b_missing);
  assert_converged (a, b);
  assert_text (a, "¡eo wörld");
  {
    g_autoptr(GVariant) color = tandem_note_dup_field (b, "color");

    g_assert_nonnull (color);
    g_assert_cmpstr (g_variant_get_string (color, NULL), ==, "red");
  }

  /* nothing is missing now */
  {
    g_autoptr(GPtrArray) none = tandem_note_dup_events_since (a, tandem_note_get_version (b));

    g_assert_cmpuint (none->len, ==, 0);
  }

  /* everything, into a fresh note, from either side */
  {
    g_autoptr(TandemNote) fresh = tandem_note_new (PEER_C);
    g_autoptr(TandemNote) fresh2 = tandem_note_new (PEER_C);
    g_autoptr(GPtrArray) all = tandem_note_dup_events_since (b, NULL);
    g_autofree char *replayed = tandem_note_dup_text_by_replay (a);

    g_assert_cmpuint (total_len (all), ==, tandem_version_vector_total (tandem_note_get_version (b)));
    receive_all (fresh, all);
    assert_converged (fresh, a);
    send_missing (a, fresh2);
    assert_converged (fresh2, a);
    g_assert_cmpstr (replayed, ==, "¡eo wörld");
  }
}

/* ---- signals --------------------------------------------------------------- */

static void
test_signals_local_edits_silent (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  Mirror ma, mb;
  g_autoptr(TandemEvent) e1 = NULL;
  g_autoptr(TandemEvent) e2 = NULL;

  mirror_attach (&ma, a);
  mirror_attach (&mb, b);

  e1 = insert_ok (a, 0, "héllo😀");
  e2 = delete_ok (a, 1, 2);
  g_assert_cmpuint (ma.n_inserted, ==, 0);
  g_assert_cmpuint (ma.n_deleted, ==, 0);

  receive_ok (b, e1);
  g_assert_cmpuint (mb.n_inserted, ==, 1);
  g_assert_cmpstr (mb.text->str, ==, "héllo😀");
  receive_ok (b, e2);
  g_assert_cmpuint (mb.n_deleted, ==, 1);
  mirror_assert (&mb, b);
  /* a duplicate says nothing */
  receive_ok (b, e1);
  g_assert_cmpuint (mb.n_inserted, ==, 1);

  mirror_detach (&ma, a);
  mirror_detach (&mb, b);
}

/* Runs merged as one batch (concurrent with an edit here) are told step
 * by step, so an editor follows the places that changed instead of
 * comparing the whole text. */
static void
test_signals_concurrent_batch_in_steps (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(GPtrArray) from_a = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  Mirror mb;

  for (guint i = 0; i < 200; i++)
    g_string_append (text, "line of text\n");
  tandem_event_unref (insert_ok (a, 0, text->str));
  sync_pair (a, b);
  mirror_attach (&mb, b);

  /* a edits in three places while b, not yet knowing, types in a fourth
   * (a local edit is not told: the editor made it) */
  tandem_event_unref (insert_ok (a, 5, "X"));
  tandem_event_unref (delete_ok (a, 1000, 3));
  tandem_event_unref (insert_ok (a, 1500, "Z"));
  tandem_event_unref (insert_ok (b, 2000, "Y"));
  mirror_insert (&mb, 2000, "Y");
  from_a = tandem_note_dup_events_since (a, tandem_note_get_version (b));
  g_assert_true (tandem_note_receive_many (b, from_a, &errors));
  g_assert_cmpuint (errors ? errors->len : 0, ==, 0);
  mirror_assert (&mb, b);
  g_assert_cmpuint (mb.n_inserted, ==, 2);
  g_assert_cmpuint (mb.n_deleted, ==, 1);
  sync_pair (a, b);
  assert_converged (a, b);
  mirror_assert (&mb, b);
  mirror_detach (&mb, b);
}

typedef struct
{
  guint n;
  TandemNote *notes[4];
  Mirror mirrors[4];
  GRand *rand;
} Sim;

static const char *sim_pieces[] = { "a", "b", "é", "😀", "e\u0301", "xyz", " ", "\n", "日本", "hello" };

static void
sim_init (Sim     *sim,
          guint    n,
          guint32  seed,
          gboolean mirrors)
{
  sim->n = n;
  sim->rand = g_rand_new_with_seed (seed);
  for (guint i = 0; i < n; i++)
    {
      sim->notes[i] = tandem_note_new (i + 1);
      if (mirrors)
        mirror_attach (&sim->mirrors[i], sim->notes[i]);
      else
        sim->mirrors[i].text = NULL;
    }
}

static void
sim_clear (Sim *sim)
{
  for (guint i = 0; i < sim->n; i++)
    {
      if (sim->mirrors[i].text)
        mirror_detach (&sim->mirrors[i], sim->notes[i]);
      g_object_unref (sim->notes[i]);
    }
  g_rand_free (sim->rand);
}

static void
sim_local_edit (Sim  *sim,
                guint i)
{
  TandemNote *note = sim->notes[i];
  Mirror *m = sim->mirrors[i].text ? &sim->mirrors[i] : NULL;
  guint length = tandem_note_get_length (note);

  if (g_rand_int_range (sim->rand, 0, 12) == 0)
    {
      /* field writes share the log with the text */
      g_autoptr(GError) error = NULL;
      g_autofree char *value = g_strdup_printf ("%u", g_rand_int (sim->rand));
      g_autoptr(TandemEvent) e = tandem_note_set_field (note, "title", g_variant_new_string (value), &error);

      g_assert_no_error (error);
      g_assert_nonnull (e);
    }
  else if (length > 0 && g_rand_int_range (sim->rand, 0, 3) == 0)
    {
      guint pos = g_rand_int_range (sim->rand, 0, length);
      guint len = g_rand_int_range (sim->rand, 1, MIN (length - pos, 6) + 1);
      g_autoptr(TandemEvent) e = delete_ok (note, pos, len);
      g_assert_nonnull (e);

      if (m)
        mirror_delete (m, pos, len);
    }
  else
    {
      guint pos = g_rand_int_range (sim->rand, 0, length + 1);
      const char *text = sim_pieces[g_rand_int_range (sim->rand, 0, G_N_ELEMENTS (sim_pieces))];
      g_autoptr(TandemEvent) e = insert_ok (note, pos, text);
      g_assert_nonnull (e);

      if (m)
        mirror_insert (m, pos, text);
    }
}

/* Delivers some of what @from has and @to lacks, in a shuffled order and
 * cut into pieces, so the causal buffer and trimming get work. */
static void
sim_deliver_some (Sim  *sim,
                  guint from,
                  guint to)
{
  g_autoptr(GPtrArray) missing = tandem_note_dup_events_since (sim->notes[from],
                                                                tandem_note_get_version (sim->notes[to]));
  g_autoptr(GPtrArray) pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  guint n;

  if (missing->len == 0)
    return;
  n = g_rand_int_range (sim->rand, 1, missing->len + 1);
  for (guint i = 0; i < n; i++)
    {
      TandemEvent *e = g_ptr_array_index (missing, i);

      if (e->kind != TANDEM_OP_FIELD && e->len > 1 && g_rand_boolean (sim->rand))
        {
          guint32 cut = g_rand_int_range (sim->rand, 1, e->len);

          g_ptr_array_add (pieces, tandem_event_slice (e, 0, cut));
          g_ptr_array_add (pieces, tandem_event_slice (e, cut, e->len - cut));
        }
      else
        g_ptr_array_add (pieces, tandem_event_ref (e));
    }
  if (g_rand_int_range (sim->rand, 0, 3) == 0)
    for (guint k = pieces->len; k > 1; k--)
      {
        guint j = g_rand_int_range (sim->rand, 0, k);
        gpointer t = pieces->pdata[k - 1];

        pieces->pdata[k - 1] = pieces->pdata[j];
        pieces->pdata[j] = t;
      }
  receive_all (sim->notes[to], pieces);
}

static void
sim_run (Sim  *sim,
         guint steps)
{
  for (guint s = 0; s < steps; s++)
    {
      guint i = g_rand_int_range (sim->rand, 0, sim->n);

      if (g_rand_int_range (sim->rand, 0, 4) == 0)
        {
          guint j = g_rand_int_range (sim->rand, 0, sim->n);

          if (j != i)
            sim_deliver_some (sim, i, j);
        }
      else
        sim_local_edit (sim, i);
    }
}

static void
sim_sync_all (Sim *sim)
{
  for (guint round = 0; round < 2; round++)
    for (guint i = 0; i < sim->n; i++)
      for (guint j = 0; j < sim->n; j++)
        if (i != j)
          send_missing (sim->notes[i], sim->notes[j]);
}

static void
test_signals_mirror_random (void)
{
  for (guint32 seed = 1; seed <= 30; seed++)
    {
      Sim sim;

      g_test_message ("seed %u", seed);
      sim_init (&sim, 3, seed, TRUE);
      for (guint round = 0; round < 6; round++)
        {
          sim_run (&sim, 25);
          for (guint i = 0; i < sim.n; i++)
            mirror_assert (&sim.mirrors[i], sim.notes[i]);
        }
      sim_sync_all (&sim);
      for (guint i = 0; i < sim.n; i++)
        {
          g_autofree char *replayed = tandem_note_dup_text_by_replay (sim.notes[i]);
          g_autofree char *text = tandem_note_dup_text (sim.notes[i]);

          /* the mirrors were really driven by signals */
          g_assert_cmpuint (sim.mirrors[i].n_inserted, >, 0);
          g_assert_cmpuint (tandem_note_get_n_pending (sim.notes[i]), ==, 0);
          mirror_assert (&sim.mirrors[i], sim.notes[i]);
          g_assert_cmpstr (replayed, ==, text);
          if (i > 0)
            assert_converged (sim.notes[0], sim.notes[i]);
        }
      sim_clear (&sim);
    }
}

/* ---- receive_many ----------------------------------------------------------- */

/* A batch whose merge fails on an invalid run is integrated again one run
 * at a time; a field write standing on that invalid run, which came after
 * it in the same call, must then wait for parents instead of being
 * integrated without them (this crashed on an assertion: found by
 * fuzz-events). */
static void
test_receive_many_child_of_refused_run (void)
{
  g_autoptr(TandemNote) note = tandem_note_new (9);
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GVariant) title = g_variant_ref_sink (g_variant_new_string ("Plan"));
  g_autofree char *text = NULL;

  /* "ab" on the empty note, then peer 2's concurrent "c" and a delete far
   * past the end of the text it saw, then peer 3's title on that delete */
  g_ptr_array_add (runs, tandem_event_new_text (1, 0, NULL, 0, TANDEM_OP_INSERT, 0, 2, "ab"));
  g_ptr_array_add (runs, tandem_event_new_text (2, 0, NULL, 0, TANDEM_OP_INSERT, 0, 1, "c"));
  g_ptr_array_add (runs, tandem_event_new_text (2, 1, (TandemEventId[]) { { 2, 0 } }, 1,
                                                TANDEM_OP_DELETE_FORWARD, 5, 1, NULL));
  g_ptr_array_add (runs, tandem_event_new_field (3, 0, (TandemEventId[]) { { 2, 1 } }, 1, "title",
                                                 TANDEM_FIELD_OP_SET, title, 1, NULL, 0));

  g_assert_false (tandem_note_receive_many (note, runs, &errors));
  g_assert_cmpuint (errors->len, ==, 1);   /* the delete */
  text = tandem_note_dup_text (note);
  g_assert_cmpuint (strlen (text), ==, 3);  /* "ab" and "c", in tie order */
  g_assert_cmpuint (tandem_version_vector_get (tandem_note_get_version (note), 2), ==, 1);
  g_assert_cmpuint (tandem_version_vector_get (tandem_note_get_version (note), 3), ==, 0);
  g_assert_cmpuint (tandem_note_get_n_pending (note), ==, 1);   /* the title waits */
  g_assert_null (tandem_note_dup_field (note, "title"));
}

static TandemNote *
replay_into_new (guint64    peer,
                 GPtrArray *events)
{
  TandemNote *note = tandem_note_new (peer);

  receive_all (note, events);
  return note;
}

static void
test_receive_many_equals_one_by_one (void)
{
  for (guint32 seed = 100; seed < 120; seed++)
    {
      Sim sim;
      g_autoptr(GPtrArray) partial = NULL;
      g_autoptr(GPtrArray) all = NULL;
      g_autoptr(GPtrArray) shuffled = NULL;
      g_autoptr(TandemNote) one = NULL;
      g_autoptr(TandemNote) many = tandem_note_new (9);
      g_autoptr(TandemNote) many_shuffled = tandem_note_new (9);
      g_autoptr(GPtrArray) errors = NULL;
      g_autoptr(GRand) rand = g_rand_new_with_seed (seed);

      g_test_message ("seed %u", seed);
      sim_init (&sim, 3, seed, FALSE);
      sim_run (&sim, 120);
      partial = tandem_note_dup_events_since (sim.notes[1], NULL);
      sim_run (&sim, 60);
      sim_sync_all (&sim);
      all = tandem_note_dup_events_since (sim.notes[0], NULL);

      /* from nothing */
      one = replay_into_new (9, all);
      g_assert_true (tandem_note_receive_many (many, all, &errors));
      g_assert_cmpuint (errors->len, ==, 0);
      g_clear_pointer (&errors, g_ptr_array_unref);
      assert_converged (one, many);
      assert_converged (one, sim.notes[0]);

      /* in any order, cut up, with duplicates */
      shuffled = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
      for (guint i = 0; i < all->len; i++)
        {
          TandemEvent *e = g_ptr_array_index (all, i);

          if (e->kind != TANDEM_OP_FIELD && e->len > 2)
            {
              g_ptr_array_add (shuffled, tandem_event_slice (e, 0, 2));
              g_ptr_array_add (shuffled, tandem_event_slice (e, 1, e->len - 1));
            }
          else
            g_ptr_array_add (shuffled, tandem_event_ref (e));
          if (g_rand_int_range (rand, 0, 8) == 0)
            g_ptr_array_add (shuffled, tandem_event_ref (e));
        }
      for (guint k = shuffled->len; k > 1; k--)
        {
          guint j = g_rand_int_range (rand, 0, k);
          gpointer t = shuffled->pdata[k - 1];

          shuffled->pdata[k - 1] = shuffled->pdata[j];
          shuffled->pdata[j] = t;
        }
      g_assert_true (tandem_note_receive_many (many_shuffled, shuffled, NULL));
      g_assert_cmpuint (tandem_note_get_n_pending (many_shuffled), ==, 0);
      assert_converged (one, many_shuffled);

      /* on top of a history with its own concurrent edits, with a mirror */
      {
        g_autoptr(TandemNote) w1 = replay_into_new (2, partial);
        g_autoptr(TandemNote) w2 = replay_into_new (2, partial);
        g_autoptr(GPtrArray) missing = NULL;
        Mirror m;

        missing = tandem_note_dup_events_since (sim.notes[0], tandem_note_get_version (w1));
        mirror_attach (&m, w2);
        receive_all (w1, missing);
        g_assert_true (tandem_note_receive_many (w2, missing, NULL));
        assert_converged (w1, w2);
        assert_converged (w1, sim.notes[0]);
        mirror_assert (&m, w2);
        mirror_detach (&m, w2);
      }
      sim_clear (&sim);
    }
}

static void
test_receive_many_rejects (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemNote) one = tandem_note_new (PEER_C);
  g_autoptr(TandemNote) many = tandem_note_new (PEER_C);
  g_autoptr(TandemEvent) base = insert_ok (a, 0, "base");
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GArray) parents = NULL;
  guint n_bad = 0;

  receive_ok (b, base);
  parents = frontier_of (a);
  g_ptr_array_add (batch, tandem_event_ref (base));
  g_ptr_array_add (batch, insert_ok (a, 4, "-a"));
  g_ptr_array_add (batch, insert_ok (b, 0, "b-"));
  /* concurrent and out of range at its parents ("base") */
  g_ptr_array_add (batch, tandem_event_new_text (PEER_D, 0, (TandemEventId *) parents->data, parents->len,
                                                 TANDEM_OP_INSERT, 5, 1, "!"));
  /* malformed */
  g_ptr_array_add (batch, tandem_event_new_text (PEER_D, 0, NULL, 0, TANDEM_OP_INSERT, 0, 3, "!"));
  g_ptr_array_add (batch, insert_ok (b, 6, "+"));

  for (guint i = 0; i < batch->len; i++)
    if (!tandem_note_receive (one, g_ptr_array_index (batch, i), NULL))
      n_bad++;
  g_assert_cmpuint (n_bad, ==, 2);
  g_assert_false (tandem_note_receive_many (many, batch, &errors));
  g_assert_cmpuint (errors->len, ==, 2);
  for (guint i = 0; i < errors->len; i++)
    {
      GError *error = g_ptr_array_index (errors, i);

      g_assert_true (g_error_matches (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_POSITION) ||
                     g_error_matches (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT));
    }
  assert_converged (one, many);
  /* "-a" and "+" were typed concurrently after "base": the lower peer first */
  assert_text (many, "b-base-a+");
  sync_pair (a, b);
  assert_converged (a, many);
  g_assert_cmpuint (tandem_version_vector_get (tandem_note_get_version (many), PEER_D), ==, 0);
}

/* ---- undo ------------------------------------------------------------------- */

static GPtrArray *
undo_ok (TandemNote *note)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *made = tandem_note_undo (note, &error);

  g_assert_no_error (error);
  g_assert_nonnull (made);
  return made;
}

static GPtrArray *
redo_ok (TandemNote *note)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *made = tandem_note_redo (note, &error);

  g_assert_no_error (error);
  g_assert_nonnull (made);
  return made;
}

static void
test_undo_nothing (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) e = insert_ok (b, 0, "theirs");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) made = NULL;

  made = tandem_note_undo (a, &error);
  g_assert_null (made);
  g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_NOTHING_TO_UNDO);
  g_clear_error (&error);
  made = tandem_note_redo (a, &error);
  g_assert_null (made);
  g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_NOTHING_TO_UNDO);
  g_clear_error (&error);

  /* someone else's typing is not ours to undo */
  receive_ok (a, e);
  g_assert_false (tandem_note_can_undo (a));
  made = tandem_note_undo (a, &error);
  g_assert_null (made);
  g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_NOTHING_TO_UNDO);
  assert_text (a, "theirs");
  g_assert_cmpuint (tandem_version_vector_get (tandem_note_get_version (a), PEER_A), ==, 0);
}

static void
test_undo_own_edits_only (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) world = insert_ok (a, 0, "world");
  g_autoptr(TandemEvent) hello = NULL;
  g_autoptr(GPtrArray) made = NULL;
  Mirror m;

  receive_ok (b, world);
  hello = insert_ok (b, 0, "hello ");
  receive_ok (a, hello);
  assert_text (a, "hello world");

  mirror_attach (&m, a);
  made = undo_ok (a);
  g_assert_cmpuint (made->len, >=, 1);
  assert_text (a, "hello ");
  /* undo is not a local keystroke: the editor learns of it by signal */
  mirror_assert (&m, a);
  g_assert_false (tandem_note_can_undo (a));
  g_assert_true (tandem_note_can_redo (a));

  receive_all (b, made);
  assert_converged (a, b);
  mirror_detach (&m, a);
}

static void
test_undo_others_typing_survives (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) ins = insert_ok (a, 0, "abcdef");
  g_autoptr(TandemEvent) xy = NULL;
  g_autoptr(GPtrArray) undone = NULL;
  g_autoptr(GPtrArray) redone = NULL;

  receive_ok (b, ins);
  xy = insert_ok (b, 3, "XY");
  receive_ok (a, xy);
  assert_text (a, "abcXYdef");

  undone = undo_ok (a);
  assert_text (a, "XY");
  receive_all (b, undone);
  assert_converged (a, b);

  /* redo puts back what the undo took, around the other peer's text */
  redone = redo_ok (a);
  assert_text (a, "abcXYdef");
  receive_all (b, redone);
  assert_converged (a, b);
  g_assert_true (tandem_note_can_undo (a));
  g_assert_false (tandem_note_can_redo (a));
}

static void
test_undo_delete_reinserts (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) ins = insert_ok (b, 0, "ab😀e\u0301f");
  g_autoptr(TandemEvent) del = NULL;
  g_autoptr(GPtrArray) undone = NULL;

  /* a deletes part of b's text */
  receive_ok (a, ins);
  del = delete_ok (a, 2, 3);
  assert_text (a, "abf");
  receive_ok (b, del);
  /* b types at both ends and in the gap the delete left */
  tandem_event_unref (insert_ok (b, 0, "<"));
  tandem_event_unref (insert_ok (b, 4, ">"));
  tandem_event_unref (insert_ok (b, 3, "Z"));
  assert_text (b, "<abZf>");
  send_missing (b, a);

  undone = undo_ok (a);
  g_assert_cmpuint (total_len (undone), ==, 3);
  /* back between b and f; "Z" is concurrent with the re-insert at the same
   * place, so the lower peer (a) goes left */
  assert_text (a, "<ab😀e\u0301Zf>");
  receive_all (b, undone);
  assert_converged (a, b);
  g_assert_false (tandem_note_can_undo (a));
}

/* Undo steps applied one after the other must get back to the start, as in
 * any editor, even when a later step deleted what an earlier one typed. */
static void
test_undo_delete_then_insert (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(GPtrArray) u1 = NULL;
  g_autoptr(GPtrArray) u2 = NULL;

  tandem_event_unref (insert_ok (a, 0, "hello"));
  tandem_event_unref (delete_ok (a, 2, 2));
  assert_text (a, "heo");
  send_missing (a, b);

  u1 = undo_ok (a);
  assert_text (a, "hello");
  u2 = undo_ok (a);
  assert_text (a, "");
  receive_all (b, u1);
  receive_all (b, u2);
  assert_converged (a, b);
}

/* The same inside one user action: typing with a backspace in the middle,
 * the usual shape of a coalesced typing burst. */
static void
test_undo_group_with_own_delete (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(GPtrArray) undone = NULL;

  tandem_event_unref (insert_ok (a, 0, "keep "));
  tandem_note_begin_user_action (a);
  tandem_event_unref (insert_ok (a, 5, "helo"));
  tandem_event_unref (delete_ok (a, 8, 1));
  tandem_event_unref (insert_ok (a, 8, "lo"));
  tandem_note_end_user_action (a);
  assert_text (a, "keep hello");

  undone = undo_ok (a);
  assert_text (a, "keep ");
}

static void
test_undo_partial_noop (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) ins = insert_ok (a, 0, "abcdef");
  g_autoptr(TandemEvent) bdel = NULL;
  g_autoptr(TandemEvent) btail = NULL;
  g_autoptr(GPtrArray) undone = NULL;

  receive_ok (b, ins);
  bdel = delete_ok (b, 1, 3);
  btail = insert_ok (b, 3, "Z");
  receive_ok (a, bdel);
  receive_ok (a, btail);
  assert_text (a, "aefZ");

  /* only the three characters still there are deleted */
  undone = undo_ok (a);
  g_assert_cmpuint (total_len (undone), ==, 3);
  assert_text (a, "Z");
  receive_all (b, undone);
  assert_converged (a, b);

  /* when others removed everything, undo makes nothing and still succeeds */
  {
    g_autoptr(TandemNote) c = tandem_note_new (PEER_C);
    g_autoptr(TandemNote) d = tandem_note_new (PEER_D);
    g_autoptr(TandemEvent) cins = insert_ok (c, 0, "gone");
    g_autoptr(TandemEvent) ddel = NULL;
    g_autoptr(GPtrArray) made = NULL;
    Snapshot s;

    receive_ok (d, cins);
    ddel = delete_ok (d, 0, 4);
    receive_ok (c, ddel);
    snapshot_take (&s, c);
    made = undo_ok (c);
    g_assert_cmpuint (made->len, ==, 0);
    snapshot_assert_same (&s, c);
    snapshot_clear (&s);
  }
}

static void
test_undo_redo_cleared_by_edit (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemEvent) one = insert_ok (a, 0, "one");
  g_assert_nonnull (one);
  g_autoptr(TandemEvent) two = insert_ok (a, 0, "two ");   /* elsewhere: a new step */
  g_autoptr(GPtrArray) u1 = NULL;
  g_assert_nonnull (two);
  g_autoptr(GPtrArray) u2 = NULL;
  g_autoptr(GPtrArray) r1 = NULL;
  g_autoptr(TandemEvent) three = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) none = NULL;

  assert_text (a, "two one");
  u1 = undo_ok (a);
  assert_text (a, "one");
  u2 = undo_ok (a);
  assert_text (a, "");
  g_assert_false (tandem_note_can_undo (a));
  r1 = redo_ok (a);
  assert_text (a, "one");
  g_assert_true (tandem_note_can_redo (a));

  three = insert_ok (a, 0, "3 ");
  g_assert_false (tandem_note_can_redo (a));
  none = tandem_note_redo (a, &error);
  g_assert_null (none);
  g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_NOTHING_TO_UNDO);
  assert_text (a, "3 one");

  /* the redone insert is undoable again */
  g_clear_pointer (&u1, g_ptr_array_unref);
  g_clear_pointer (&u2, g_ptr_array_unref);
  u1 = undo_ok (a);
  assert_text (a, "one");
  u2 = undo_ok (a);
  assert_text (a, "");
  g_assert_false (tandem_note_can_undo (a));
}

/* Outside user actions, a run of typing or of deleting is one step. The
 * deletes here take b's text, so that each undo stands on its own. */
static void
test_undo_typing_coalesces (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) digits = insert_ok (b, 0, "0123456789");
  g_autoptr(GPtrArray) made = NULL;
  const char *word = "wörd";
  const char *after_undo[] = { "[<0123456wörd", "[<0123456789wörd", "0123456789wörd", "0123456789" };

  receive_ok (a, digits);
  for (guint k = 0; k < 4; k++)
    {
      g_autofree char *key = g_utf8_substring (word, k, k + 1);

      tandem_event_unref (insert_ok (a, 10 + k, key));
    }
  /* the cursor moves: a new step */
  tandem_event_unref (insert_ok (a, 0, "["));
  tandem_event_unref (insert_ok (a, 1, "<"));
  assert_text (a, "[<0123456789wörd");
  /* Backspace three times, then Delete twice elsewhere */
  tandem_event_unref (delete_ok (a, 11, 1));
  tandem_event_unref (delete_ok (a, 10, 1));
  tandem_event_unref (delete_ok (a, 9, 1));
  tandem_event_unref (delete_ok (a, 2, 1));
  tandem_event_unref (delete_ok (a, 2, 1));
  assert_text (a, "[<23456wörd");
  send_missing (a, b);

  for (guint i = 0; i < G_N_ELEMENTS (after_undo); i++)
    {
      g_clear_pointer (&made, g_ptr_array_unref);
      made = undo_ok (a);
      assert_text (a, after_undo[i]);
      receive_all (b, made);
      assert_converged (a, b);
    }
  g_assert_false (tandem_note_can_undo (a));
}

/* Undo of an action made of several deletes puts every character back in
 * its place. The re-inserts of one undo must not be ordered against each
 * other as if they were concurrent. */
static void
test_undo_group_of_deletes_restores_order (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(GPtrArray) undone = NULL;

  tandem_event_unref (insert_ok (a, 0, "abcdefgh"));
  tandem_note_begin_user_action (a);
  tandem_event_unref (delete_ok (a, 2, 1));
  tandem_event_unref (delete_ok (a, 2, 1));
  tandem_note_end_user_action (a);
  assert_text (a, "abefgh");

  undone = undo_ok (a);
  assert_text (a, "abcdefgh");
}

/* One user alone: undoing every action walks back through exactly the
 * texts there were, and redoing walks forward again. */
static void
test_undo_single_user_random (void)
{
  for (guint32 seed = 300; seed < 400; seed++)
    {
      g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
      g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
      g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
      guint n_actions = g_rand_int_range (rand, 1, 7);

      g_test_message ("seed %u", seed);
      g_ptr_array_add (texts, tandem_note_dup_text (a));
      for (guint i = 0; i < n_actions; i++)
        {
          guint n_ops = g_rand_int_range (rand, 1, 4);

          tandem_note_begin_user_action (a);
          for (guint k = 0; k < n_ops; k++)
            {
              guint length = tandem_note_get_length (a);

              if (length > 0 && g_rand_boolean (rand))
                {
                  guint pos = g_rand_int_range (rand, 0, length);
                  guint len = g_rand_int_range (rand, 1, MIN (length - pos, 3) + 1);

                  tandem_event_unref (delete_ok (a, pos, len));
                }
              else
                tandem_event_unref (insert_ok (a, g_rand_int_range (rand, 0, length + 1),
                                               sim_pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (sim_pieces))]));
            }
          tandem_note_end_user_action (a);
          g_ptr_array_add (texts, tandem_note_dup_text (a));
        }

      for (guint i = n_actions; i > 0; i--)
        {
          g_autoptr(GPtrArray) made = undo_ok (a);
          g_assert_nonnull (made);

          assert_text (a, g_ptr_array_index (texts, i - 1));
        }
      g_assert_false (tandem_note_can_undo (a));
      for (guint i = 1; i <= n_actions; i++)
        {
          g_autoptr(GPtrArray) made = redo_ok (a);
          g_assert_nonnull (made);

          assert_text (a, g_ptr_array_index (texts, i));
        }
      g_assert_false (tandem_note_can_redo (a));
    }
}

/* Redo of a step whose undo came out as several pieces puts the pieces
 * back in their order. */
static void
test_undo_redo_restores_order (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(GPtrArray) undone = NULL;
  g_autoptr(GPtrArray) redone = NULL;

  tandem_note_begin_user_action (a);
  tandem_event_unref (insert_ok (a, 0, "ac"));
  tandem_event_unref (insert_ok (a, 1, "b"));
  tandem_note_end_user_action (a);
  assert_text (a, "abc");

  undone = undo_ok (a);
  assert_text (a, "");
  redone = redo_ok (a);
  assert_text (a, "abc");
}

static void
test_undo_user_action_groups (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) first = insert_ok (a, 0, "keep ");
  g_autoptr(GPtrArray) undone = NULL;

  receive_ok (b, first);
  tandem_event_unref (insert_ok (b, 5, "Q"));
  send_missing (b, a);
  assert_text (a, "keep Q");

  tandem_note_begin_user_action (a);
  tandem_event_unref (insert_ok (a, 5, "abc"));
  tandem_note_begin_user_action (a);    /* nested actions are one */
  tandem_event_unref (insert_ok (a, 6, "X"));
  tandem_note_end_user_action (a);
  tandem_event_unref (delete_ok (a, 9, 1));  /* b's Q */
  tandem_event_unref (insert_ok (a, 0, "!"));
  tandem_note_end_user_action (a);
  assert_text (a, "!keep aXbc");
  send_missing (a, b);

  undone = undo_ok (a);
  assert_text (a, "keep Q");
  g_assert_true (tandem_note_can_undo (a));
  receive_all (b, undone);
  assert_converged (a, b);

  /* an empty action adds no step */
  tandem_note_begin_user_action (a);
  tandem_note_end_user_action (a);
  g_clear_pointer (&undone, g_ptr_array_unref);
  undone = undo_ok (a);
  assert_text (a, "Q");
  g_assert_false (tandem_note_can_undo (a));
  receive_all (b, undone);
  assert_converged (a, b);
}

/* Both peers undo while the other types; everyone ends on one text. */
static void
test_undo_converges (void)
{
  for (guint32 seed = 200; seed < 215; seed++)
    {
      Sim sim;

      g_test_message ("seed %u", seed);
      sim_init (&sim, 2, seed, TRUE);
      for (guint round = 0; round < 20; round++)
        {
          sim_run (&sim, 6);
          for (guint i = 0; i < sim.n; i++)
            if (tandem_note_can_undo (sim.notes[i]) && g_rand_boolean (sim.rand))
              {
                g_autoptr(GPtrArray) made = NULL;

                if (tandem_note_can_redo (sim.notes[i]) && g_rand_boolean (sim.rand))
                  made = redo_ok (sim.notes[i]);
                else
                  made = undo_ok (sim.notes[i]);
                mirror_assert (&sim.mirrors[i], sim.notes[i]);
              }
        }
      sim_sync_all (&sim);
      assert_converged (sim.notes[0], sim.notes[1]);
      for (guint i = 0; i < sim.n; i++)
        {
          g_autofree char *replayed = tandem_note_dup_text_by_replay (sim.notes[i]);
          g_autofree char *text = tandem_note_dup_text (sim.notes[i]);

          mirror_assert (&sim.mirrors[i], sim.notes[i]);
          g_assert_cmpstr (replayed, ==, text);
        }
      sim_clear (&sim);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/note/local/insert-code-points", test_local_insert_code_points);
  g_test_add_func ("/engine/note/local/delete-code-points", test_local_delete_code_points);
  g_test_add_func ("/engine/note/local/errors-leave-note-unchanged", test_local_errors);
  g_test_add_func ("/engine/note/local/delete-runs", test_local_delete_runs);

  g_test_add_func ("/engine/note/receive/duplicates", test_receive_duplicates);
  g_test_add_func ("/engine/note/receive/causal-buffer", test_receive_causal_buffer);
  g_test_add_func ("/engine/note/receive/invalid-fast-path", test_receive_invalid_fast_path);
  g_test_add_func ("/engine/note/receive/invalid-concurrent", test_receive_invalid_concurrent);
  g_test_add_func ("/engine/note/receive/broken-own-chain", test_receive_broken_own_chain);
  g_test_add_func ("/engine/note/receive/rejected-from-buffer", test_receive_rejected_from_buffer);
  g_test_add_func ("/engine/note/receive/many-equals-one-by-one", test_receive_many_equals_one_by_one);
  g_test_add_func ("/engine/note/receive/many-rejects", test_receive_many_rejects);

  g_test_add_func ("/engine/note/merge/lower-peer-left", test_merge_lower_peer_left);
  g_test_add_func ("/engine/note/merge/no-interleaving", test_merge_no_interleaving);
  g_test_add_func ("/engine/note/sync/events-since", test_events_since);

  g_test_add_func ("/engine/note/signals/local-edits-silent", test_signals_local_edits_silent);
  g_test_add_func ("/engine/note/signals/mirror-random", test_signals_mirror_random);
  g_test_add_func ("/engine/note/signals/concurrent-batch-in-steps", test_signals_concurrent_batch_in_steps);

  g_test_add_func ("/engine/note/undo/nothing-to-undo", test_undo_nothing);
  g_test_add_func ("/engine/note/undo/own-edits-only", test_undo_own_edits_only);
  g_test_add_func ("/engine/note/undo/others-typing-survives", test_undo_others_typing_survives);
  g_test_add_func ("/engine/note/undo/delete-reinserts", test_undo_delete_reinserts);
  g_test_add_func ("/engine/note/undo/partial-noop", test_undo_partial_noop);
  g_test_add_func ("/engine/note/undo/redo-cleared-by-edit", test_undo_redo_cleared_by_edit);
  g_test_add_func ("/engine/note/undo/typing-coalesces", test_undo_typing_coalesces);
  g_test_add_func ("/engine/note/undo/user-action-groups", test_undo_user_action_groups);
  g_test_add_func ("/engine/note/undo/converges", test_undo_converges);
  g_test_add_func ("/engine/note/undo/delete-then-insert", test_undo_delete_then_insert);
  g_test_add_func ("/engine/note/undo/group-with-own-delete", test_undo_group_with_own_delete);
  g_test_add_func ("/engine/note/undo/group-of-deletes-restores-order", test_undo_group_of_deletes_restores_order);
  g_test_add_func ("/engine/note/undo/redo-restores-order", test_undo_redo_restores_order);
  g_test_add_func ("/engine/note/undo/single-user-random", test_undo_single_user_random);
  g_test_add_func ("/engine/note/receive-many/child-of-refused-run", test_receive_many_child_of_refused_run);

  return g_test_run ();
}

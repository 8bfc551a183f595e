/* test-note-save.c: saving a note's history and loading it back
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tandem-engine-error.h"
#include "tandem-note.h"

/* A note with local typing, concurrent edits from a second peer, field
 * writes and a merge, so every kind of run and a multi-parent event show up. */
static TandemNote *
make_busy_note (guint32 seed)
{
  TandemNote *a = tandem_note_new (1);
  g_autoptr(TandemNote) b = tandem_note_new (2);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);

  tandem_note_set_field_policy (a, "tags", TANDEM_FIELD_POLICY_SET);
  tandem_note_set_field_policy (b, "tags", TANDEM_FIELD_POLICY_SET);
  for (guint round = 0; round < 20; round++)
    {
      for (guint i = 0; i < 30; i++)
        {
          TandemNote *who = g_rand_boolean (rand) ? a : b;
          guint len = tandem_note_get_length (who);
          g_autoptr(TandemEvent) e = NULL;

          if (len > 3 && g_rand_int_range (rand, 0, 4) == 0)
            e = tandem_note_delete (who, g_rand_int_range (rand, 0, len - 2), 2, NULL);
          else
            e = tandem_note_insert (who, g_rand_int_range (rand, 0, len + 1), "h\u00e9\U0001F600", NULL);
          g_assert_nonnull (e);
        }
      {
        g_autoptr(TandemEvent) t = tandem_note_set_field (a, "title", g_variant_new_int64 (round), NULL);
        g_assert_nonnull (t);
        g_autoptr(TandemEvent) g = tandem_note_add_to_set (b, "tags", round % 2 ? "odd" : "even", NULL);
        g_assert_nonnull (g);
        g_autoptr(GPtrArray) to_a = tandem_note_dup_events_since (b, tandem_note_get_version (a));
        g_autoptr(GPtrArray) to_b = tandem_note_dup_events_since (a, tandem_note_get_version (b));

        g_assert_true (tandem_note_receive_many (a, to_a, NULL));
        g_assert_true (tandem_note_receive_many (b, to_b, NULL));
      }
    }
  return a;
}

static void
assert_same_note (TandemNote *x,
                  TandemNote *y)
{
  g_autofree char *tx = tandem_note_dup_text (x);
  g_autofree char *ty = tandem_note_dup_text (y);
  g_autoptr(GVariant) fx = tandem_note_dup_field (x, "title");
  g_autoptr(GVariant) fy = tandem_note_dup_field (y, "title");
  g_autoptr(GPtrArray) sx = tandem_note_dup_set (x, "tags");
  g_autoptr(GPtrArray) sy = tandem_note_dup_set (y, "tags");

  g_assert_cmpstr (tx, ==, ty);
  g_assert_true (tandem_version_vector_equal (tandem_note_get_version (x), tandem_note_get_version (y)));
  g_assert_nonnull (fx);
  g_assert_true (g_variant_equal (fx, fy));
  g_assert_cmpuint (sx->len, ==, sy->len);
  g_assert_cmpuint (tandem_note_get_lamport (x), ==, tandem_note_get_lamport (y));
}

static void
test_round_trip (void)
{
  g_autoptr(TandemNote) note = make_busy_note (7);
  g_autoptr(GBytes) saved = tandem_note_save_log (note, 0);
  g_autoptr(GPtrArray) pieces = g_ptr_array_new ();
  g_autofree char *text = tandem_note_dup_text (note);
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemNote) with_text = NULL;
  g_autoptr(TandemNote) replayed = NULL;

  g_ptr_array_add (pieces, saved);
  with_text = tandem_note_new_from_log (1, pieces, text, &error);
  g_assert_no_error (error);
  assert_same_note (note, with_text);

  /* without the text the history is replayed, and must come out the same */
  replayed = tandem_note_new_from_log (1, pieces, NULL, &error);
  g_assert_no_error (error);
  assert_same_note (note, replayed);
}

/* A store appends what is new: pieces saved at different times join up,
 * and the loaded note keeps working with the peer it came from. */
static void
test_pieces_join (void)
{
  g_autoptr(TandemNote) note = tandem_note_new (1);
  g_autoptr(GPtrArray) pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemNote) loaded = NULL;
  g_autofree char *text = NULL;
  guint32 saved_up_to = 0;

  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(TandemEvent) e1 = tandem_note_insert (note, tandem_note_get_length (note), "abc", NULL);
      g_assert_nonnull (e1);
      g_autoptr(TandemEvent) e2 = tandem_note_delete (note, 1, 1, NULL);
      g_assert_nonnull (e2);

      g_ptr_array_add (pieces, tandem_note_save_log (note, saved_up_to));
      saved_up_to = tandem_note_get_n_events (note);
    }
  text = tandem_note_dup_text (note);
  loaded = tandem_note_new_from_log (1, pieces, text, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tandem_note_get_n_events (loaded), ==, tandem_note_get_n_events (note));
  {
    g_autofree char *lt = tandem_note_dup_text (loaded);
    g_autoptr(TandemEvent) more = tandem_note_insert (loaded, 0, "!", NULL);

    g_assert_cmpstr (lt, ==, text);
    /* the loaded note goes on with the next seq, and the original takes it */
    g_assert_cmpuint (more->seq, ==, tandem_note_get_n_events (note));
    g_assert_true (tandem_note_receive (note, more, NULL));
  }
}

static void
test_damage_refused (void)
{
  g_autoptr(TandemNote) note = make_busy_note (3);
  g_autoptr(GBytes) saved = tandem_note_save_log (note, 0);
  g_autofree char *text = tandem_note_dup_text (note);
  gsize len;
  const guint8 *data = g_bytes_get_data (saved, &len);

  /* every single flipped byte, at spread-out places, is caught */
  for (gsize at = 0; at < len; at += 1 + len / 200)
    {
      g_autofree guint8 *copy = g_memdup2 (data, len);
      g_autoptr(GBytes) bad = NULL;
      g_autoptr(GPtrArray) pieces = g_ptr_array_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(TandemNote) loaded = NULL;

      copy[at] ^= 0x5a;
      bad = g_bytes_new (copy, len);
      g_ptr_array_add (pieces, bad);
      loaded = tandem_note_new_from_log (1, pieces, text, &error);
      if (loaded != NULL)
        g_error ("a flipped byte at %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " went unnoticed", at, len);
      g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT);
      g_assert_true (g_str_has_prefix (error->message, "The saved history is damaged"));
    }

  /* a text that does not fit the history */
  {
    g_autoptr(GPtrArray) pieces = g_ptr_array_new ();
    g_autoptr(GError) error = NULL;
    g_autoptr(TandemNote) loaded = NULL;

    g_ptr_array_add (pieces, saved);
    loaded = tandem_note_new_from_log (1, pieces, "not the text", &error);
    g_assert_null (loaded);
    g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT);
  }
}

/* Undo and redo go on after a restart; damaged stacks are dropped, not
 * trusted. */
static void
test_undo_survives (void)
{
  g_autoptr(TandemNote) note = tandem_note_new (1);
  g_autoptr(TandemEvent) e1 = tandem_note_insert (note, 0, "hello", NULL);
  g_assert_nonnull (e1);
  g_autoptr(TandemEvent) e2 = tandem_note_delete (note, 1, 2, NULL);
  g_assert_nonnull (e2);
  g_autoptr(GPtrArray) undone = tandem_note_undo (note, NULL);
  g_assert_nonnull (undone);
  g_autoptr(GBytes) log = tandem_note_save_log (note, 0);
  g_autoptr(GBytes) undo = tandem_note_save_undo (note);
  g_autoptr(GPtrArray) pieces = g_ptr_array_new ();
  g_autofree char *text = tandem_note_dup_text (note);
  g_autoptr(TandemNote) loaded = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpstr (text, ==, "hello");
  g_ptr_array_add (pieces, log);
  loaded = tandem_note_new_from_log (1, pieces, text, &error);
  g_assert_no_error (error);
  g_assert_true (tandem_note_load_undo (loaded, undo, &error));
  g_assert_no_error (error);
  g_assert_true (tandem_note_can_undo (loaded));
  g_assert_true (tandem_note_can_redo (loaded));
  {
    g_autoptr(GPtrArray) redone = tandem_note_redo (loaded, &error);
    g_assert_nonnull (redone);
    g_autofree char *after = tandem_note_dup_text (loaded);

    g_assert_no_error (error);
    g_assert_cmpstr (after, ==, "hlo");
  }
  {
    g_autoptr(GPtrArray) a = tandem_note_undo (loaded, &error);
    g_assert_nonnull (a);
    g_autoptr(GPtrArray) b = tandem_note_undo (loaded, &error);
    g_assert_nonnull (b);
    g_autofree char *after = tandem_note_dup_text (loaded);

    g_assert_no_error (error);
    g_assert_cmpstr (after, ==, "");
  }

  /* a step beyond the history is refused, and leaves no undo at all */
  {
    gsize len;
    const guint8 *data = g_bytes_get_data (undo, &len);
    g_autofree guint8 *copy = g_memdup2 (data, len);
    g_autoptr(GBytes) bad = NULL;
    g_autoptr(TandemNote) other = tandem_note_new_from_log (1, pieces, text, NULL);
    g_autoptr(GError) bad_error = NULL;

    copy[6] = 0x7f;   /* the first step's lv */
    bad = g_bytes_new (copy, len);
    g_assert_false (tandem_note_load_undo (other, bad, &bad_error));
    g_assert_error (bad_error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_FAILED);
    g_assert_false (tandem_note_can_undo (other));
    g_assert_false (tandem_note_can_redo (other));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/note-save/round-trip", test_round_trip);
  g_test_add_func ("/engine/note-save/pieces-join", test_pieces_join);
  g_test_add_func ("/engine/note-save/damage-refused", test_damage_refused);
  g_test_add_func ("/engine/note-save/undo-survives", test_undo_survives);
  return g_test_run ();
}

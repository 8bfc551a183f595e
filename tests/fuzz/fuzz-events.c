/* fuzz-events.c: event validation and merge, against a batch replay
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The input decodes to an event graph: three real peers (notes) type,
 * delete, undo, set fields and sync with each other in an order the input
 * chooses, and a hostile member forges runs with chosen parents, positions,
 * lengths and kinds, valid or not. Every run any of them has, cut into
 * pieces, duplicated and shuffled by the input, then reaches a fresh note
 * A the way a peer gets it: in "events" messages that go through
 * tandem_wire_parse() and tandem_event_from_json() into
 * tandem_note_receive_many(), a message refused whole when a run in it
 * does not decode, as the sync session does.
 *
 * Then, whatever A took:
 *   - its text is what a replay of its own history makes;
 *   - a fresh note B given A's history in one batch takes all of it, has
 *     A's version, text and fields (the batch replay);
 *   - after a reconnection (a refused message closes the connection, and
 *     the real peers then send what A lacks) A has every run the real
 *     peers made, whatever the forger sent, and when A took nothing forged it has exactly the
 *     text and fields the real peers converge to.
 */
#include <string.h>

#include "fuzz-common.h"
#include "tandem-event-codec.h"
#include "tandem-note.h"
#include "tandem-wire.h"

#define N_REAL 3
#define FIRST_FORGER (N_REAL + 1)
#define N_FORGERS 2
#define MAX_ACTIONS 48
#define RECEIVER_A 100
#define REPLAYER_B 101

static const char *const letters[] = { "a", "b", " ", "\n", "é", "日", "😀" };

static TandemNote *
new_note (guint64 peer)
{
  TandemNote *note = tandem_note_new (peer);

  tandem_note_set_field_policy (note, "tags", TANDEM_FIELD_POLICY_SET);
  return note;
}

static char *
some_text (FuzzReader *r,
           guint       n)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append (text, letters[fuzz_below (r, G_N_ELEMENTS (letters))]);
  return g_string_free (text, FALSE);
}

static void
sync_pair (TandemNote *from,
           TandemNote *to)
{
  g_autoptr(GPtrArray) events = tandem_note_dup_events_since (from, tandem_note_get_version (to));
  g_autoptr(GPtrArray) errors = NULL;

  fuzz_check (tandem_note_receive_many (to, events, &errors),
              "a real peer refused another's runs: %s",
              ((GError *) g_ptr_array_index (errors, 0))->message);
}

/* One real peer's local edit, with positions that fit its text. */
static void
local_edit (FuzzReader *r,
            TandemNote *note,
            guint       action)
{
  guint length = tandem_note_get_length (note);
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemEvent) event = NULL;

  switch (action)
    {
    case 0:
    case 1:
    case 2:
      {
        g_autofree char *text = some_text (r, 1 + fuzz_below (r, 3));

        event = tandem_note_insert (note, fuzz_below (r, length + 1), text, &error);
        break;
      }
    case 3:
      {
        guint pos, n;

        if (length == 0)
          return;
        pos = fuzz_below (r, length);
        n = 1 + fuzz_below (r, MIN (length - pos, 4u));
        event = tandem_note_delete (note, pos, n, &error);
        break;
      }
    case 4:
      {
        g_autofree char *title = some_text (r, fuzz_below (r, 3));
        g_autoptr(GVariant) value = fuzz_byte (r) % 4 ? g_variant_ref_sink (g_variant_new_string (title)) : NULL;

        event = tandem_note_set_field (note, "title", value, &error);
        break;
      }
    case 5:
      {
        const char *elem = letters[fuzz_below (r, 3)];

        event = fuzz_byte (r) % 2 ? tandem_note_add_to_set (note, "tags", elem, &error)
                                  : tandem_note_remove_from_set (note, "tags", elem, &error);
        break;
      }
    default:
      {
        g_autoptr(GPtrArray) undone = NULL;

        if (!tandem_note_can_undo (note))
          return;
        undone = tandem_note_undo (note, &error);
        fuzz_check (undone != NULL, "undo failed: %s", error ? error->message : "");
        return;
      }
    }
  /* a remove of what is not there may make no event; anything else must */
  fuzz_check (event != NULL || (action == 5 && error == NULL),
              "a local edit failed: %s", error ? error->message : "no event");
}

/* An id the forger can name as a parent: one that exists, mostly. */
static TandemEventId
some_id (FuzzReader *r,
         GPtrArray  *known)
{
  if (known->len > 0 && fuzz_byte (r) % 8 != 0)
    {
      TandemEvent *e = g_ptr_array_index (known, fuzz_below (r, known->len));

      return (TandemEventId) { e->peer, e->seq + fuzz_below (r, e->len + 1) - (e->len > 0 ? 1 : 0) };
    }
  return (TandemEventId) { 1 + fuzz_below (r, N_REAL + N_FORGERS), fuzz_below (r, 24) };
}

/* A run as a hostile member might send it: right or wrong in any way the
 * codec lets through (it checks shapes and ranges, not the history). */
static TandemEvent *
forge (FuzzReader *r,
       GPtrArray  *known,
       guint64    *next_seq)
{
  guint forger = fuzz_below (r, N_FORGERS);
  guint64 peer = FIRST_FORGER + forger;
  guint64 seq = fuzz_byte (r) % 4 ? next_seq[forger] : fuzz_below (r, next_seq[forger] + 3);
  TandemEventId parents[3];
  guint n_parents = fuzz_below (r, 4);
  guint kind = fuzz_below (r, 4);
  TandemEvent *event;

  for (guint i = 0; i < n_parents; i++)
    parents[i] = some_id (r, known);
  if (kind == TANDEM_OP_FIELD)
    {
      static const char *const fields[] = { "title", "tags", "colour" };
      static const TandemFieldOp ops[] = { TANDEM_FIELD_OP_SET, TANDEM_FIELD_OP_ADD, TANDEM_FIELD_OP_REMOVE };
      g_autofree char *text = some_text (r, fuzz_below (r, 3));
      g_autoptr(GVariant) value = fuzz_byte (r) % 4 ? g_variant_ref_sink (g_variant_new_string (text)) : NULL;
      TandemEventId observed = some_id (r, known);

      event = tandem_event_new_field (peer, seq, parents, n_parents, fields[fuzz_below (r, 3)],
                                      ops[fuzz_below (r, 3)], value, fuzz_below (r, 64),
                                      &observed, fuzz_below (r, 2));
    }
  else
    {
      guint len = 1 + fuzz_below (r, 4);
      g_autofree char *text = kind == TANDEM_OP_INSERT ? some_text (r, len) : NULL;

      event = tandem_event_new_text (peer, seq, parents, n_parents, kind, fuzz_below (r, 40), len, text);
    }
  next_seq[forger] = MAX (next_seq[forger], seq + event->len);
  return event;
}

/* Sends @runs to @note as one "events" message, through the decoder. */
static void
deliver_message (TandemNote *note,
                 GPtrArray  *runs)
{
  static const char *id32 = "00112233445566778899aabbccddeeff";
  JsonBuilder *b = tandem_wire_begin (TANDEM_WIRE_EVENTS);
  g_autofree char *frame = NULL;
  gsize len;
  g_autoptr(JsonObject) msg = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  g_autoptr(GPtrArray) errors = NULL;
  TandemWireType type;
  JsonArray *array;

  json_builder_set_member_name (b, "notebook");
  json_builder_add_string_value (b, id32);
  json_builder_set_member_name (b, "note");
  json_builder_add_string_value (b, id32);
  json_builder_set_member_name (b, "runs");
  json_builder_add_value (b, tandem_events_to_json (runs));   /* as a session sends them */
  frame = tandem_wire_end (b, &len);

  msg = tandem_wire_parse (frame, len, &type, &error);
  fuzz_check (msg != NULL && type == TANDEM_WIRE_EVENTS, "a well-formed events message was refused: %s",
              error ? error->message : "");
  array = json_object_get_array_member (msg, "runs");
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      TandemEvent *event = tandem_event_from_json_after (json_array_get_element (array, i),
                                                         i > 0 ? g_ptr_array_index (events, i - 1) : NULL,
                                                         NULL);

      if (event == NULL)
        return;   /* the session refuses the whole message */
      g_ptr_array_add (events, event);
    }
  /* refused runs are refused; what the rest did is checked at the end */
  tandem_note_receive_many (note, events, &errors);
}

static char *
fields_of (TandemNote *note)
{
  g_autoptr(GPtrArray) titles = tandem_note_dup_field_values (note, "title");
  g_autoptr(GPtrArray) tags = tandem_note_dup_set (note, "tags");
  g_autoptr(GVariant) colour = tandem_note_dup_field (note, "colour");
  GString *out = g_string_new ("title:");

  for (guint i = 0; i < titles->len; i++)
    {
      GVariant *value = g_ptr_array_index (titles, i);   /* NULL: unset */
      g_autofree char *v = value ? g_variant_print (value, TRUE) : g_strdup ("unset");

      g_string_append_printf (out, " %s", v);
    }
  g_string_append (out, " tags:");
  for (guint i = 0; i < tags->len; i++)
    g_string_append_printf (out, " %s", (char *) g_ptr_array_index (tags, i));
  if (colour != NULL)
    {
      g_autofree char *v = g_variant_print (colour, TRUE);

      g_string_append_printf (out, " colour: %s", v);
    }
  return g_string_free (out, FALSE);
}

static void
check_same (TandemNote *a,
            TandemNote *b,
            const char *what)
{
  g_autofree char *text_a = tandem_note_dup_text (a);
  g_autofree char *text_b = tandem_note_dup_text (b);
  g_autofree char *fields_a = fields_of (a);
  g_autofree char *fields_b = fields_of (b);

  fuzz_check (g_str_equal (text_a, text_b), "%s: texts differ:\n\"%s\"\n\"%s\"", what, text_a, text_b);
  fuzz_check (g_str_equal (fields_a, fields_b), "%s: fields differ:\n%s\n%s", what, fields_a, fields_b);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  FuzzReader r = { data, size, 0 };
  TandemNote *real[N_REAL];
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  guint64 next_seq[N_FORGERS] = { 0 };
  g_autoptr(TandemNote) a = new_note (RECEIVER_A);
  g_autoptr(TandemNote) b = new_note (REPLAYER_B);
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autofree char *text_a = NULL;
  g_autofree char *replayed = NULL;
  gboolean forged_taken = FALSE;

  for (guint i = 0; i < N_REAL; i++)
    real[i] = new_note (1 + i);

  /* the history: edits, syncs and forgeries, in the input's order */
  for (guint n = 0; n < MAX_ACTIONS && !fuzz_done (&r); n++)
    {
      guint action = fuzz_below (&r, 9);
      TandemNote *note = real[fuzz_below (&r, N_REAL)];

      if (action == 7)
        {
          TandemNote *other = real[fuzz_below (&r, N_REAL)];

          if (other != note)
            sync_pair (note, other);
        }
      else if (action == 8)
        {
          g_autoptr(GPtrArray) known = tandem_note_dup_events_since (note, NULL);

          for (guint k = 0; k < all->len; k++)
            g_ptr_array_add (known, tandem_event_ref (g_ptr_array_index (all, k)));
          g_ptr_array_add (all, forge (&r, known, next_seq));
        }
      else
        local_edit (&r, note, action);
    }

  /* every run anyone has, cut, doubled and shuffled as the input says */
  for (guint i = 0; i < N_REAL; i++)
    {
      g_autoptr(GPtrArray) mine = tandem_note_dup_events_since (real[i], NULL);

      for (guint k = 0; k < mine->len; k++)
        {
          TandemEvent *e = g_ptr_array_index (mine, k);
          guint32 cut = e->kind == TANDEM_OP_FIELD || e->len < 2 ? 0 : fuzz_below (&r, e->len);

          if (cut == 0)
            g_ptr_array_add (all, tandem_event_ref (e));
          else
            {
              g_ptr_array_add (all, tandem_event_slice (e, 0, cut));
              g_ptr_array_add (all, tandem_event_slice (e, cut, e->len - cut));
            }
          if (fuzz_byte (&r) % 8 == 0)
            g_ptr_array_add (all, tandem_event_ref (e));
        }
    }
  for (guint k = all->len; k > 1; k--)
    {
      guint j = fuzz_below (&r, k);
      gpointer t = all->pdata[k - 1];

      all->pdata[k - 1] = all->pdata[j];
      all->pdata[j] = t;
    }
  for (guint start = 0; start < all->len;)
    {
      guint wanted = 1 + fuzz_below (&r, 8);   /* not inside MIN(), which reads it twice */
      guint n = MIN (wanted, all->len - start);
      g_autoptr(GPtrArray) batch = g_ptr_array_new ();

      for (guint k = 0; k < n; k++)
        g_ptr_array_add (batch, all->pdata[start + k]);
      deliver_message (a, batch);
      start += n;
    }

  /* a refused message closes the connection; at the next one each real
   * peer sends what A lacks, as a session does */
  for (guint i = 0; i < N_REAL; i++)
    {
      g_autoptr(GPtrArray) missing = tandem_note_dup_events_since (real[i], tandem_note_get_version (a));

      if (missing->len > 0)
        deliver_message (a, missing);
    }

  /* A's text is its history's */
  text_a = tandem_note_dup_text (a);
  replayed = tandem_note_dup_text_by_replay (a);
  fuzz_check (g_str_equal (text_a, replayed), "A's text is not its history's:\n\"%s\"\n\"%s\"", text_a, replayed);

  /* the batch replay: B takes A's history whole, and is A */
  history = tandem_note_dup_events_since (a, NULL);
  fuzz_check (tandem_note_receive_many (b, history, &errors), "B refused A's history: %s",
              ((GError *) g_ptr_array_index (errors, 0))->message);
  fuzz_check (tandem_note_get_n_pending (b) == 0, "B waits for parents of A's own history");
  fuzz_check (tandem_version_vector_equal (tandem_note_get_version (a), tandem_note_get_version (b)),
              "B's version is not A's");
  check_same (a, b, "A and its batch replay B");

  /* the real peers converge, and A has all they made */
  for (guint round = 0; round < 2; round++)
    for (guint i = 0; i < N_REAL; i++)
      for (guint j = 0; j < N_REAL; j++)
        if (i != j)
          sync_pair (real[i], real[j]);
  for (guint i = 1; i < N_REAL; i++)
    check_same (real[0], real[i], "two real peers after a full sync");
  for (guint p = 1; p <= N_REAL; p++)
    fuzz_check (tandem_version_vector_get (tandem_note_get_version (a), p) ==
                tandem_version_vector_get (tandem_note_get_version (real[0]), p),
                "A lacks runs of real peer %u", p);
  for (guint f = 0; f < N_FORGERS; f++)
    forged_taken |= tandem_version_vector_get (tandem_note_get_version (a), FIRST_FORGER + f) > 0;
  if (!forged_taken)
    check_same (a, real[0], "A (nothing forged taken) and the real peers");

  for (guint i = 0; i < N_REAL; i++)
    g_object_unref (real[i]);
  return 0;
}

/* test-field-table.c: structured fields, through notes on two or three peers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The register cases follow ../shared/scenarios/L01–L06 (ALGORITHM.md §6):
 * each peer is a TandemNote, and writes travel between them as events.
 */
#include <stdarg.h>
#include <string.h>

#include "tandem-engine-error.h"
#include "tandem-event-codec.h"
#include "tandem-note.h"

#define PEER_A 0x1
#define PEER_B 0x2
#define PEER_C 0x3

/* ---- helpers ------------------------------------------------------------ */

static TandemEvent *
set_ok (TandemNote *note,
        const char *field,
        const char *value)
{
  g_autoptr(GError) error = NULL;
  TandemEvent *event = tandem_note_set_field (note, field, value ? g_variant_new_string (value) : NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (event);
  g_assert_cmpint (event->kind, ==, TANDEM_OP_FIELD);
  g_assert_cmpint (event->field_op, ==, TANDEM_FIELD_OP_SET);
  return event;
}

static TandemEvent *
add_ok (TandemNote *note,
        const char *field,
        const char *elem)
{
  g_autoptr(GError) error = NULL;
  TandemEvent *event = tandem_note_add_to_set (note, field, elem, &error);

  g_assert_no_error (error);
  g_assert_nonnull (event);
  return event;
}

static TandemEvent *
remove_ok (TandemNote *note,
           const char *field,
           const char *elem)
{
  g_autoptr(GError) error = NULL;
  TandemEvent *event = tandem_note_remove_from_set (note, field, elem, &error);

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
send_missing (TandemNote *from,
              TandemNote *to)
{
  g_autoptr(GPtrArray) missing = tandem_note_dup_events_since (from, tandem_note_get_version (to));

  for (guint i = 0; i < missing->len; i++)
    receive_ok (to, g_ptr_array_index (missing, i));
}

/* The lww read is the string @expected, or unset when it is %NULL. */
static void
assert_lww (TandemNote *note,
            const char *field,
            const char *expected)
{
  g_autoptr(GVariant) value = tandem_note_dup_field (note, field);

  if (expected == NULL)
    {
      g_assert_null (value);
      return;
    }
  g_assert_nonnull (value);
  g_assert_true (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING));
  g_assert_cmpstr (g_variant_get_string (value, NULL), ==, expected);
}

/* The manual read is exactly these @n strings, in order; a %NULL stands
 * for an unset. One value means no conflict. */
static void
assert_values (TandemNote *note,
               const char *field,
               guint       n,
               ...)
{
  g_autoptr(GPtrArray) values = tandem_note_dup_field_values (note, field);
  va_list args;

  g_assert_cmpuint (values->len, ==, n);
  va_start (args, n);
  for (guint i = 0; i < n; i++)
    {
      const char *expected = va_arg (args, const char *);
      GVariant *value = g_ptr_array_index (values, i);

      if (expected == NULL)
        g_assert_null (value);
      else
        {
          g_assert_nonnull (value);
          g_assert_cmpstr (g_variant_get_string (value, NULL), ==, expected);
        }
    }
  va_end (args);
}

/* The set holds exactly these @n elements (sorted). */
static void
assert_set (TandemNote *note,
            const char *field,
            guint       n,
            ...)
{
  g_autoptr(GPtrArray) set = tandem_note_dup_set (note, field);
  va_list args;

  g_assert_cmpuint (set->len, ==, n);
  va_start (args, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (g_ptr_array_index (set, i), ==, va_arg (args, const char *));
  va_end (args);
}

static TandemNote *
new_note (guint64           peer,
          const char       *field,
          TandemFieldPolicy policy)
{
  TandemNote *note = tandem_note_new (peer);

  if (field != NULL)
    tandem_note_set_field_policy (note, field, policy);
  return note;
}

/* ---- lww -------------------------------------------------------------------- */

/* L01: a write made after seeing another wins, whatever the peer ids. */
static void
test_lww_causal_beats_peer_order (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) w1 = set_ok (b, "color", "blue");
  g_autoptr(TandemEvent) w2 = NULL;

  receive_ok (a, w1);
  assert_lww (a, "color", "blue");
  w2 = set_ok (a, "color", "red");
  g_assert_cmpuint (w2->lamport, ==, 2);
  receive_ok (b, w2);
  assert_lww (a, "color", "red");
  assert_lww (b, "color", "red");
  /* it dominates: no conflict left either */
  assert_values (a, "color", 1, "red");
  assert_values (b, "color", 1, "red");
  g_assert_cmpuint (tandem_field_table_get_live (tandem_note_get_fields (b), "color")->len, ==, 1);
}

/* L02: of concurrent writes, the higher Lamport time wins. */
static void
test_lww_higher_lamport (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) b1 = set_ok (b, "color", "blue");

  tandem_event_unref (set_ok (a, "color", "red"));
  tandem_event_unref (set_ok (a, "color", "green"));
  tandem_event_unref (set_ok (a, "color", "white"));
  assert_lww (a, "color", "white");
  send_missing (a, b);
  receive_ok (a, b1);

  assert_lww (a, "color", "white");
  assert_lww (b, "color", "white");
  /* the manual read still sees both, by (Lamport, peer) */
  assert_values (a, "color", 2, "blue", "white");
  assert_values (b, "color", 2, "blue", "white");
}

static void
check_equal_lamport (guint64 low,
                     guint64 high)
{
  g_autoptr(TandemNote) lo = tandem_note_new (low);
  g_autoptr(TandemNote) hi = tandem_note_new (high);
  g_autoptr(TandemEvent) whi = set_ok (hi, "color", "from-high");
  g_autoptr(TandemEvent) wlo = set_ok (lo, "color", "from-low");

  g_assert_cmpuint (whi->lamport, ==, wlo->lamport);
  /* the high peer's write arrives first at lo, last at hi: order must not matter */
  receive_ok (lo, whi);
  receive_ok (hi, wlo);
  assert_lww (lo, "color", "from-high");
  assert_lww (hi, "color", "from-high");
  assert_values (lo, "color", 2, "from-low", "from-high");
}

/* L03: equal Lamport times: the higher peer id wins (as unsigned). */
static void
test_lww_equal_lamport_higher_peer (void)
{
  check_equal_lamport (PEER_A, PEER_B);
  check_equal_lamport (G_GUINT64_CONSTANT (0x7fffffffffffffff), G_GUINT64_CONSTANT (0x8000000000000000));
  check_equal_lamport (1, G_MAXUINT64);
}

/* ---- manual ----------------------------------------------------------------- */

static void
test_manual_same_value (void)
{
  g_autoptr(TandemNote) a = new_note (PEER_A, "title", TANDEM_FIELD_POLICY_MANUAL);
  g_autoptr(TandemNote) b = new_note (PEER_B, "title", TANDEM_FIELD_POLICY_MANUAL);
  g_autoptr(TandemEvent) wa = set_ok (a, "title", "Plan");
  g_autoptr(TandemEvent) wb = set_ok (b, "title", "Plan");

  receive_ok (a, wb);
  receive_ok (b, wa);
  /* two live writes, one value: nothing to ask the user */
  g_assert_cmpuint (tandem_field_table_get_live (tandem_note_get_fields (a), "title")->len, ==, 2);
  assert_values (a, "title", 1, "Plan");
  assert_values (b, "title", 1, "Plan");
  assert_lww (a, "title", "Plan");
}

/* L04: the user's pick settles the conflict everywhere; a write made
 * concurrently with the pick reopens it. */
static void
test_manual_resolution_and_reopen (void)
{
  g_autoptr(TandemNote) a = new_note (PEER_A, "title", TANDEM_FIELD_POLICY_MANUAL);
  g_autoptr(TandemNote) b = new_note (PEER_B, "title", TANDEM_FIELD_POLICY_MANUAL);
  g_autoptr(TandemNote) c = new_note (PEER_C, "title", TANDEM_FIELD_POLICY_MANUAL);
  g_autoptr(TandemEvent) w1 = set_ok (a, "title", "x");
  g_autoptr(TandemEvent) w2 = set_ok (b, "title", "y");
  g_autoptr(TandemEvent) w3 = NULL;
  g_autoptr(TandemEvent) w4 = NULL;

  receive_ok (a, w2);
  receive_ok (b, w1);
  receive_ok (c, w2);
  assert_values (a, "title", 2, "x", "y");
  assert_values (b, "title", 2, "x", "y");

  w3 = set_ok (a, "title", "x");
  g_assert_cmpuint (w3->lamport, ==, 2);
  assert_values (a, "title", 1, "x");
  receive_ok (b, w3);
  assert_lww (b, "title", "x");
  assert_values (b, "title", 1, "x");
  g_assert_cmpuint (tandem_field_table_get_live (tandem_note_get_fields (b), "title")->len, ==, 1);

  w4 = set_ok (c, "title", "z");
  g_assert_cmpuint (w4->lamport, ==, 2);
  receive_ok (a, w4);
  receive_ok (b, w4);
  receive_ok (c, w1);
  receive_ok (c, w3);
  {
    TandemNote *all[] = { a, b, c };

    for (guint i = 0; i < G_N_ELEMENTS (all); i++)
      {
        assert_lww (all[i], "title", "z");
        assert_values (all[i], "title", 2, "x", "z");
      }
  }

  /* and a second pick, seen by all, settles it for good */
  {
    g_autoptr(TandemEvent) w5 = set_ok (b, "title", "final");

    receive_ok (a, w5);
    receive_ok (c, w5);
    assert_values (a, "title", 1, "final");
    assert_values (c, "title", 1, "final");
  }
}

/* L05: c overwrote only x; y stays concurrent with c's write. */
static void
test_manual_partial_dominance (void)
{
  g_autoptr(TandemNote) a = new_note (PEER_A, "title", TANDEM_FIELD_POLICY_MANUAL);
  g_autoptr(TandemNote) b = new_note (PEER_B, "title", TANDEM_FIELD_POLICY_MANUAL);
  g_autoptr(TandemNote) c = new_note (PEER_C, "title", TANDEM_FIELD_POLICY_MANUAL);
  g_autoptr(TandemEvent) w1 = set_ok (a, "title", "X");
  g_autoptr(TandemEvent) w2 = set_ok (b, "title", "Y");
  g_autoptr(TandemEvent) w3 = NULL;

  receive_ok (c, w1);
  w3 = set_ok (c, "title", "Z");
  receive_ok (a, w2);
  receive_ok (a, w3);
  receive_ok (b, w1);
  receive_ok (b, w3);
  receive_ok (c, w2);
  {
    TandemNote *all[] = { a, b, c };

    for (guint i = 0; i < G_N_ELEMENTS (all); i++)
      {
        assert_lww (all[i], "title", "Z");
        assert_values (all[i], "title", 2, "Y", "Z");
      }
  }
}

/* ---- unset ------------------------------------------------------------------ */

/* L06: clearing a field competes like any write. */
static void
test_unset_vs_concurrent_set (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) w1 = set_ok (a, "due", "Mon");
  g_autoptr(TandemEvent) w2 = NULL;
  g_autoptr(TandemEvent) w3 = NULL;

  /* never written: unset, no values */
  assert_lww (a, "nothing", NULL);
  assert_values (a, "nothing", 0);

  receive_ok (b, w1);
  w2 = set_ok (a, "due", NULL);
  g_assert_null (w2->value);
  assert_lww (a, "due", NULL);
  assert_values (a, "due", 1, NULL);
  w3 = set_ok (b, "due", "Tue");
  receive_ok (a, w3);
  receive_ok (b, w2);
  /* equal Lamport: the higher peer (b, who set) wins the lww read */
  assert_lww (a, "due", "Tue");
  assert_lww (b, "due", "Tue");
  assert_values (a, "due", 2, NULL, "Tue");
  assert_values (b, "due", 2, NULL, "Tue");
}

/* The other way round: the unset wins lww, and both reads show it. */
static void
test_unset_wins (void)
{
  g_autoptr(TandemNote) a = new_note (PEER_A, "due", TANDEM_FIELD_POLICY_MANUAL);
  g_autoptr(TandemNote) b = new_note (PEER_B, "due", TANDEM_FIELD_POLICY_MANUAL);
  g_autoptr(TandemEvent) w1 = set_ok (a, "due", "Mon");
  g_autoptr(TandemEvent) wa = NULL;
  g_autoptr(TandemEvent) wb = NULL;

  receive_ok (b, w1);
  wa = set_ok (a, "due", "Wed");
  wb = set_ok (b, "due", NULL);
  receive_ok (a, wb);
  receive_ok (b, wa);
  assert_lww (a, "due", NULL);
  assert_lww (b, "due", NULL);
  assert_values (a, "due", 2, "Wed", NULL);
  assert_values (b, "due", 2, "Wed", NULL);

  /* an unset can settle the conflict too */
  {
    g_autoptr(TandemEvent) settle = set_ok (a, "due", NULL);

    receive_ok (b, settle);
    assert_values (a, "due", 1, NULL);
    assert_values (b, "due", 1, NULL);
    assert_lww (b, "due", NULL);
  }
}

/* ---- sets ------------------------------------------------------------------- */

/* L08: a remove takes only the adds it saw; a concurrent add wins. */
static void
test_set_add_wins (void)
{
  g_autoptr(TandemNote) a = new_note (PEER_A, "tags", TANDEM_FIELD_POLICY_SET);
  g_autoptr(TandemNote) b = new_note (PEER_B, "tags", TANDEM_FIELD_POLICY_SET);
  g_autoptr(TandemEvent) add1 = add_ok (a, "tags", "red");
  g_autoptr(TandemEvent) rm = NULL;
  g_autoptr(TandemEvent) add2 = NULL;

  receive_ok (b, add1);
  rm = remove_ok (a, "tags", "red");
  g_assert_cmpint (rm->field_op, ==, TANDEM_FIELD_OP_REMOVE);
  g_assert_cmpuint (rm->n_observed, ==, 1);
  g_assert_cmpuint (rm->observed[0].peer, ==, add1->peer);
  g_assert_cmpuint (rm->observed[0].seq, ==, add1->seq);
  assert_set (a, "tags", 0);

  add2 = add_ok (b, "tags", "red");
  receive_ok (a, add2);
  receive_ok (b, rm);
  assert_set (a, "tags", 1, "red");
  assert_set (b, "tags", 1, "red");
}

static void
test_set_remove_observed (void)
{
  g_autoptr(TandemNote) a = new_note (PEER_A, "tags", TANDEM_FIELD_POLICY_SET);
  g_autoptr(TandemNote) b = new_note (PEER_B, "tags", TANDEM_FIELD_POLICY_SET);
  g_autoptr(TandemEvent) rm = NULL;

  tandem_event_unref (add_ok (a, "tags", "work"));
  tandem_event_unref (add_ok (a, "tags", "red"));
  tandem_event_unref (add_ok (a, "tags", "äpfel"));
  tandem_event_unref (add_ok (a, "tags", "red"));     /* a second add of the same tag */
  send_missing (a, b);
  assert_set (b, "tags", 3, "red", "work", "äpfel");

  rm = remove_ok (b, "tags", "red");
  g_assert_cmpuint (rm->n_observed, ==, 2);
  assert_set (b, "tags", 2, "work", "äpfel");
  send_missing (b, a);
  assert_set (a, "tags", 2, "work", "äpfel");

  /* removing what is not there is a harmless write */
  tandem_event_unref (remove_ok (a, "tags", "missing"));
  send_missing (a, b);
  assert_set (b, "tags", 2, "work", "äpfel");
}

/* ---- policies ----------------------------------------------------------------- */

static void
test_policy_errors (void)
{
  g_autoptr(TandemNote) a = new_note (PEER_A, "tags", TANDEM_FIELD_POLICY_SET);
  g_autoptr(TandemVersionVector) before = NULL;
  guint64 lamport;

  tandem_note_set_field_policy (a, "title", TANDEM_FIELD_POLICY_MANUAL);
  g_assert_cmpint (tandem_note_get_field_policy (a, "tags"), ==, TANDEM_FIELD_POLICY_SET);
  g_assert_cmpint (tandem_note_get_field_policy (a, "title"), ==, TANDEM_FIELD_POLICY_MANUAL);
  g_assert_cmpint (tandem_note_get_field_policy (a, "color"), ==, TANDEM_FIELD_POLICY_LWW);

  tandem_event_unref (set_ok (a, "color", "red"));
  before = tandem_version_vector_copy (tandem_note_get_version (a));
  lamport = tandem_note_get_lamport (a);

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(TandemEvent) e = tandem_note_set_field (a, "tags", g_variant_new_string ("x"), &error);

    g_assert_null (e);
    g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_FIELD);
    g_assert_nonnull (strstr (error->message, "tags"));
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(TandemEvent) e = tandem_note_set_field (a, "tags", NULL, &error);

    g_assert_null (e);
    g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_FIELD);
  }
  {
    const char *registers[] = { "title", "color", "never-written" };

    for (guint i = 0; i < G_N_ELEMENTS (registers); i++)
      {
        g_autoptr(GError) e1 = NULL;
        g_autoptr(GError) e2 = NULL;
        g_autoptr(TandemEvent) add = tandem_note_add_to_set (a, registers[i], "x", &e1);
        g_autoptr(TandemEvent) rm = tandem_note_remove_from_set (a, registers[i], "x", &e2);

        g_assert_null (add);
        g_assert_error (e1, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_FIELD);
        g_assert_null (rm);
        g_assert_error (e2, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_FIELD);
      }
  }
  /* a local write with a bad name fails too */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(TandemEvent) e = tandem_note_set_field (a, "", g_variant_new_string ("x"), &error);

    g_assert_null (e);
    g_assert_nonnull (error);
    g_assert_true (error->domain == TANDEM_ENGINE_ERROR);
  }

  /* nothing was written */
  g_assert_true (tandem_version_vector_equal (tandem_note_get_version (a), before));
  g_assert_cmpuint (tandem_note_get_lamport (a), ==, lamport);
  assert_set (a, "tags", 0);
  assert_values (a, "title", 0);
  assert_lww (a, "color", "red");
}

/* Like any GLib function taking a GVariant, set_field sinks a floating
 * value even when it refuses the write; otherwise the usual
 * set_field (note, f, g_variant_new_string (...), &error) leaks on error. */
static void
test_policy_error_sinks_value (void)
{
  g_autoptr(TandemNote) a = new_note (PEER_A, "tags", TANDEM_FIELD_POLICY_SET);
  GVariant *value = g_variant_new_string ("x");
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemEvent) e = NULL;
  gboolean still_floating;

  g_variant_ref (value);      /* ours; the floating reference is the callee's */
  e = tandem_note_set_field (a, "tags", value, &error);
  g_assert_null (e);
  g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_FIELD);
  still_floating = g_variant_is_floating (value);
  if (still_floating)
    g_variant_ref_sink (value);
  g_variant_unref (value);
  g_assert_false (still_floating);
}

/* Registers keep one state for lww and manual: switching reads the same
 * writes another way. */
static void
test_policy_switch (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) wa = set_ok (a, "title", "A's");
  g_assert_nonnull (wa);
  g_autoptr(TandemEvent) wb = set_ok (b, "title", "B's");

  receive_ok (a, wb);
  assert_lww (a, "title", "B's");
  tandem_note_set_field_policy (a, "title", TANDEM_FIELD_POLICY_MANUAL);
  assert_values (a, "title", 2, "A's", "B's");
  assert_lww (a, "title", "B's");
}

/* ---- from the wire ------------------------------------------------------------ */

static void
test_wire_invalid_rejected (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) w1 = set_ok (a, "title", "ok");
  g_autoptr(TandemVersionVector) before = NULL;
  TandemEventId parent = { PEER_A, 0 };
  TandemEventId unseen = { PEER_C, 5 };
  g_autofree char *too_long = g_strnfill (TANDEM_FIELD_VALUE_MAX + 1, 'v');
  const char *json[] = {
    "[{\"p\":\"0000000000000001\",\"s\":1,\"ps\":[[\"0000000000000001\",0]],\"k\":\"field\",\"f\":\"title\","
    "\"op\":\"set\",\"v\":[1],\"l\":2}]",
    "[{\"p\":\"0000000000000001\",\"s\":1,\"ps\":[[\"0000000000000001\",0]],\"k\":\"field\",\"f\":\"title\","
    "\"op\":\"set\",\"v\":1.5,\"l\":2}]",
    "[{\"p\":\"0000000000000001\",\"s\":1,\"ps\":[[\"0000000000000001\",0]],\"k\":\"field\",\"f\":\"title\","
    "\"op\":\"set\",\"v\":{\"x\":1},\"l\":2}]",
    "[{\"p\":\"0000000000000001\",\"s\":1,\"ps\":[[\"0000000000000001\",0]],\"k\":\"field\",\"f\":\"\","
    "\"op\":\"set\",\"v\":\"x\",\"l\":2}]",
    "[{\"p\":\"0000000000000001\",\"s\":1,\"ps\":[[\"0000000000000001\",0]],\"k\":\"field\",\"f\":\"title\","
    "\"op\":\"set\",\"v\":\"x\",\"l\":0}]",
    "[{\"p\":\"0000000000000001\",\"s\":1,\"ps\":[[\"0000000000000001\",0]],\"k\":\"field\",\"f\":\"tags\","
    "\"op\":\"add\",\"v\":5,\"l\":2}]",
  };
  TandemEvent *direct[] = {
    tandem_event_new_field (PEER_A, 1, &parent, 1, "title", TANDEM_FIELD_OP_SET, g_variant_new_double (1.5), 2, NULL, 0),
    tandem_event_new_field (PEER_A, 1, &parent, 1, "title", TANDEM_FIELD_OP_SET, g_variant_new_uint32 (7), 2, NULL, 0),
    tandem_event_new_field (PEER_A, 1, &parent, 1, "title", TANDEM_FIELD_OP_SET, g_variant_new_string (too_long), 2, NULL, 0),
    tandem_event_new_field (PEER_A, 1, &parent, 1, "", TANDEM_FIELD_OP_SET, g_variant_new_string ("x"), 2, NULL, 0),
    tandem_event_new_field (PEER_A, 1, &parent, 1, NULL, TANDEM_FIELD_OP_SET, g_variant_new_string ("x"), 2, NULL, 0),
    tandem_event_new_field (PEER_A, 1, &parent, 1, "title", TANDEM_FIELD_OP_SET, g_variant_new_string ("x"), 0, NULL, 0),
    tandem_event_new_field (PEER_A, 1, &parent, 1, "tags", TANDEM_FIELD_OP_ADD, g_variant_new_int64 (5), 2, NULL, 0),
    tandem_event_new_field (PEER_A, 1, &parent, 1, "tags", TANDEM_FIELD_OP_ADD, NULL, 2, NULL, 0),
    tandem_event_new_field (PEER_A, 1, &parent, 1, "title", TANDEM_FIELD_OP_SET, g_variant_new_string ("x"), 2, &parent, 1),
    tandem_event_new_field (PEER_A, 1, &parent, 1, "title", (TandemFieldOp) 9, g_variant_new_string ("x"), 2, NULL, 0),
  };

  receive_ok (b, w1);
  before = tandem_version_vector_copy (tandem_note_get_version (b));

  for (guint i = 0; i < G_N_ELEMENTS (json); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) events = tandem_events_from_string (json[i], -1, &error);

      g_test_message ("json %u", i);
      g_assert_null (events);
      g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT);
    }
  for (guint i = 0; i < G_N_ELEMENTS (direct); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("event %u", i);
      g_assert_false (tandem_note_receive (b, direct[i], &error));
      g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT);
      tandem_event_unref (direct[i]);
    }

  /* a remove naming an add its author cannot have seen */
  {
    g_autoptr(TandemEvent) rm = tandem_event_new_field (PEER_A, 1, &parent, 1, "tags", TANDEM_FIELD_OP_REMOVE,
                                                        g_variant_new_string ("x"), 2, &unseen, 1);
    g_autoptr(GError) error = NULL;

    g_assert_true (tandem_event_validate (rm, NULL));
    g_assert_false (tandem_note_receive (b, rm, &error));
    g_assert_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_FIELD);
  }

  g_assert_true (tandem_version_vector_equal (tandem_note_get_version (b), before));
  g_assert_cmpuint (tandem_note_get_lamport (b), ==, 1);
  assert_lww (b, "title", "ok");
  assert_values (b, "title", 1, "ok");
  assert_set (b, "tags", 0);

  /* the seq that was refused is still free for a valid write */
  {
    g_autoptr(TandemEvent) good = tandem_event_new_field (PEER_A, 1, &parent, 1, "title", TANDEM_FIELD_OP_SET,
                                                          g_variant_new_string ("better"), 2, NULL, 0);

    receive_ok (b, good);
    assert_lww (b, "title", "better");
  }
}

/* ---- Lamport time --------------------------------------------------------------- */

static void
test_lamport_max_plus_one (void)
{
  g_autoptr(TandemNote) a = new_note (PEER_A, "tags", TANDEM_FIELD_POLICY_SET);
  g_autoptr(TandemNote) b = new_note (PEER_B, "tags", TANDEM_FIELD_POLICY_SET);
  g_autoptr(TandemEvent) a1 = set_ok (a, "title", "1");
  g_autoptr(TandemEvent) a2 = add_ok (a, "tags", "t");       /* one clock for every field */
  g_autoptr(TandemEvent) a3 = set_ok (a, "color", "c");
  g_autoptr(TandemEvent) b1 = NULL;
  g_autoptr(TandemEvent) forged = NULL;
  g_autoptr(TandemEvent) b2 = NULL;
  g_autoptr(GPtrArray) frontier = NULL;

  g_assert_cmpuint (a1->lamport, ==, 1);
  g_assert_cmpuint (a2->lamport, ==, 2);
  g_assert_cmpuint (a3->lamport, ==, 3);
  g_assert_cmpuint (tandem_note_get_lamport (a), ==, 3);
  g_assert_cmpuint (tandem_note_get_lamport (b), ==, 0);

  receive_ok (b, a1);
  g_assert_cmpuint (tandem_note_get_lamport (b), ==, 1);
  receive_ok (b, a2);
  receive_ok (b, a3);
  g_assert_cmpuint (tandem_note_get_lamport (b), ==, 3);
  b1 = set_ok (b, "title", "2");
  g_assert_cmpuint (b1->lamport, ==, 4);
  g_assert_cmpuint (tandem_note_get_lamport (b), ==, 4);

  /* a jump from another peer carries over */
  frontier = tandem_note_dup_frontier (b);
  forged = tandem_event_new_field (PEER_C, 0, g_ptr_array_index (frontier, 0), 1, "title", TANDEM_FIELD_OP_SET,
                                   g_variant_new_string ("far"), 100, NULL, 0);
  receive_ok (b, forged);
  g_assert_cmpuint (tandem_note_get_lamport (b), ==, 100);
  b2 = set_ok (b, "color", "d");
  g_assert_cmpuint (b2->lamport, ==, 101);

  /* an older write arriving late does not lower it */
  {
    g_autoptr(TandemEvent) late = set_ok (a, "title", "late");

    g_assert_cmpuint (late->lamport, ==, 4);
    receive_ok (b, late);
    g_assert_cmpuint (tandem_note_get_lamport (b), ==, 101);
  }
}

/* ---- delivery --------------------------------------------------------------------- */

typedef struct
{
  GPtrArray *names;
} Changes;

static void
field_changed_cb (TandemNote *note,
                  const char *field,
                  gpointer    user_data)
{
  g_ptr_array_add (((Changes *) user_data)->names, g_strdup (field));
}

static void
test_field_changed_signal (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  Changes ca = { g_ptr_array_new_with_free_func (g_free) };
  Changes cb = { g_ptr_array_new_with_free_func (g_free) };
  g_autoptr(TandemEvent) w = NULL;

  g_signal_connect (a, "field-changed", G_CALLBACK (field_changed_cb), &ca);
  g_signal_connect (b, "field-changed", G_CALLBACK (field_changed_cb), &cb);
  w = set_ok (a, "title", "x");
  g_assert_cmpuint (ca.names->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (ca.names, 0), ==, "title");
  receive_ok (b, w);
  g_assert_cmpuint (cb.names->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (cb.names, 0), ==, "title");
  /* a duplicate changes nothing and says nothing */
  receive_ok (b, w);
  g_assert_cmpuint (cb.names->len, ==, 1);

  g_signal_handlers_disconnect_by_data (a, &ca);
  g_signal_handlers_disconnect_by_data (b, &cb);
  g_ptr_array_unref (ca.names);
  g_ptr_array_unref (cb.names);
}

/* L09: a write waits for its parents, and duplicates change nothing. */
static void
test_causal_buffer_and_duplicates (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemNote) c = tandem_note_new (PEER_C);
  g_autoptr(TandemEvent) wa = set_ok (a, "title", "first");
  g_autoptr(TandemEvent) wb = NULL;

  receive_ok (b, wa);
  wb = set_ok (b, "title", "second");

  receive_ok (c, wb);
  g_assert_cmpuint (tandem_note_get_n_pending (c), ==, 1);
  assert_lww (c, "title", NULL);
  receive_ok (c, wb);
  g_assert_cmpuint (tandem_note_get_n_pending (c), ==, 1);
  receive_ok (c, wa);
  g_assert_cmpuint (tandem_note_get_n_pending (c), ==, 0);
  assert_lww (c, "title", "second");
  assert_values (c, "title", 1, "second");
  receive_ok (c, wa);
  receive_ok (c, wb);
  assert_values (c, "title", 1, "second");
  g_assert_cmpuint (tandem_field_table_get_live (tandem_note_get_fields (c), "title")->len, ==, 1);
}

static void
count_text_cb (TandemNote *note,
               guint       pos,
               gpointer    user_data)
{
  (*(guint *) user_data)++;
}

/* Field writes concurrent with text edits take the merge path; they must
 * not disturb the text, and the text must not disturb them. */
static void
test_concurrent_with_text (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(TandemEvent) base = NULL;
  g_autoptr(TandemEvent) local = NULL;
  g_autoptr(TandemEvent) red = NULL;
  g_autoptr(GError) error = NULL;
  guint n_text_signals = 0;

  base = tandem_note_insert (a, 0, "shared", &error);
  g_assert_no_error (error);
  receive_ok (b, base);

  /* b types, a writes a field concurrently */
  local = tandem_note_insert (b, 0, ">", &error);
  g_assert_no_error (error);
  red = set_ok (a, "color", "red");
  g_signal_connect (b, "text-inserted", G_CALLBACK (count_text_cb), &n_text_signals);
  g_signal_connect (b, "text-deleted", G_CALLBACK (count_text_cb), &n_text_signals);
  receive_ok (b, red);
  g_assert_cmpuint (n_text_signals, ==, 0);
  assert_lww (b, "color", "red");
  {
    g_autofree char *tb = tandem_note_dup_text (b);

    g_assert_cmpstr (tb, ==, ">shared");
  }
  g_signal_handlers_disconnect_by_data (b, &n_text_signals);

  /* more of both on both sides */
  tandem_event_unref (tandem_note_insert (a, 6, " text", NULL));
  tandem_event_unref (set_ok (a, "color", "green"));
  tandem_event_unref (tandem_note_delete (a, 0, 1, NULL));
  tandem_event_unref (set_ok (b, "title", "from b"));
  tandem_event_unref (tandem_note_insert (b, 7, "<", NULL));
  tandem_event_unref (set_ok (b, "color", "blue"));

  send_missing (a, b);
  send_missing (b, a);
  {
    g_autofree char *ta = tandem_note_dup_text (a);
    g_autofree char *tb = tandem_note_dup_text (b);

    g_assert_cmpstr (ta, ==, ">hared text<");
    g_assert_cmpstr (tb, ==, ta);
  }
  g_assert_true (tandem_version_vector_equal (tandem_note_get_version (a), tandem_note_get_version (b)));
  assert_lww (a, "title", "from b");
  assert_lww (b, "title", "from b");
  /* a's green (Lamport 2) and b's blue (Lamport 3, after red) are concurrent */
  assert_lww (a, "color", "blue");
  assert_lww (b, "color", "blue");
  assert_values (a, "color", 2, "green", "blue");
  assert_values (b, "color", 2, "green", "blue");
}

/* L10: the same writes in any order give the same reads everywhere. */
static void
test_any_delivery_order (void)
{
  g_autoptr(TandemNote) a = new_note (PEER_A, "tags", TANDEM_FIELD_POLICY_SET);
  g_autoptr(TandemNote) b = new_note (PEER_B, "tags", TANDEM_FIELD_POLICY_SET);
  g_autoptr(TandemNote) c = new_note (PEER_C, "tags", TANDEM_FIELD_POLICY_SET);
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (10);
  g_autoptr(GPtrArray) reference_values = NULL;
  g_autoptr(GPtrArray) reference_set = NULL;
  g_autoptr(GVariant) reference_lww = NULL;

  tandem_event_unref (set_ok (a, "title", "a1"));
  tandem_event_unref (add_ok (a, "tags", "x"));
  send_missing (a, b);
  tandem_event_unref (set_ok (b, "title", "b1"));
  tandem_event_unref (remove_ok (b, "tags", "x"));
  tandem_event_unref (add_ok (b, "tags", "y"));
  tandem_event_unref (set_ok (c, "title", "c1"));
  tandem_event_unref (add_ok (c, "tags", "x"));
  send_missing (c, a);
  tandem_event_unref (set_ok (a, "title", "a2"));
  tandem_event_unref (set_ok (c, "title", NULL));
  send_missing (a, b);
  send_missing (b, a);
  send_missing (c, a);
  send_missing (a, b);
  send_missing (a, c);

  all = tandem_note_dup_events_since (a, NULL);
  reference_values = tandem_note_dup_field_values (a, "title");
  reference_set = tandem_note_dup_set (a, "tags");
  reference_lww = tandem_note_dup_field (a, "title");
  assert_set (a, "tags", 2, "x", "y");

  for (guint round = 0; round < 50; round++)
    {
      g_autoptr(TandemNote) fresh = new_note (9, "tags", TANDEM_FIELD_POLICY_SET);
      g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
      g_autoptr(GPtrArray) values = NULL;
      g_autoptr(GPtrArray) set = NULL;
      g_autoptr(GVariant) lww = NULL;

      for (guint i = 0; i < all->len; i++)
        g_ptr_array_add (order, tandem_event_ref (g_ptr_array_index (all, i)));
      for (guint k = order->len; k > 1; k--)
        {
          guint j = g_rand_int_range (rand, 0, k);
          gpointer t = order->pdata[k - 1];

          order->pdata[k - 1] = order->pdata[j];
          order->pdata[j] = t;
        }
      if (round % 2)
        g_assert_true (tandem_note_receive_many (fresh, order, NULL));
      else
        for (guint i = 0; i < order->len; i++)
          receive_ok (fresh, g_ptr_array_index (order, i));

      g_assert_cmpuint (tandem_note_get_n_pending (fresh), ==, 0);
      g_assert_true (tandem_version_vector_equal (tandem_note_get_version (fresh), tandem_note_get_version (a)));
      values = tandem_note_dup_field_values (fresh, "title");
      set = tandem_note_dup_set (fresh, "tags");
      lww = tandem_note_dup_field (fresh, "title");
      g_assert_cmpuint (values->len, ==, reference_values->len);
      for (guint i = 0; i < values->len; i++)
        {
          GVariant *v = g_ptr_array_index (values, i), *r = g_ptr_array_index (reference_values, i);

          g_assert_true ((v == NULL && r == NULL) || (v && r && g_variant_equal (v, r)));
        }
      g_assert_cmpuint (set->len, ==, reference_set->len);
      for (guint i = 0; i < set->len; i++)
        g_assert_cmpstr (g_ptr_array_index (set, i), ==, g_ptr_array_index (reference_set, i));
      g_assert_true ((lww == NULL && reference_lww == NULL) ||
                     (lww && reference_lww && g_variant_equal (lww, reference_lww)));
      g_assert_cmpuint (tandem_note_get_lamport (fresh), ==, tandem_note_get_lamport (a));
    }
}

/* ---- the table itself ---------------------------------------------------------------- */

static void
test_table_dominated_and_duplicate (void)
{
  g_autoptr(TandemFieldTable) table = tandem_field_table_new ();
  g_autoptr(TandemVersionVector) c1 = tandem_version_vector_new ();
  g_autoptr(TandemVersionVector) c2 = NULL;
  g_autoptr(TandemEvent) w1 = tandem_event_new_field (PEER_A, 0, NULL, 0, "f", TANDEM_FIELD_OP_SET,
                                                      g_variant_new_string ("one"), 1, NULL, 0);
  TandemEventId p = { PEER_A, 0 };
  g_autoptr(TandemEvent) w2 = tandem_event_new_field (PEER_B, 0, &p, 1, "f", TANDEM_FIELD_OP_SET,
                                                      g_variant_new_string ("two"), 2, NULL, 0);
  g_autoptr(GPtrArray) names = NULL;
  const TandemFieldWrite *winner;

  tandem_version_vector_set (c1, PEER_A, 1);
  c2 = tandem_version_vector_copy (c1);
  tandem_version_vector_set (c2, PEER_B, 1);

  tandem_field_table_apply (table, w1, c1);
  tandem_field_table_apply (table, w1, c1);     /* same id */
  g_assert_cmpuint (tandem_field_table_get_live (table, "f")->len, ==, 1);
  tandem_field_table_apply (table, w2, c2);
  g_assert_cmpuint (tandem_field_table_get_live (table, "f")->len, ==, 1);
  tandem_field_table_apply (table, w1, c1);     /* dominated */
  g_assert_cmpuint (tandem_field_table_get_live (table, "f")->len, ==, 1);
  winner = tandem_field_table_get_winner (table, "f");
  g_assert_cmpuint (winner->id.peer, ==, PEER_B);
  g_assert_cmpuint (winner->lamport, ==, 2);
  g_assert_true (tandem_version_vector_equal (winner->clock, c2));
  g_assert_null (tandem_field_table_get_winner (table, "other"));
  names = tandem_field_table_dup_names (table);
  g_assert_cmpuint (names->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (names, 0), ==, "f");

  {
    TandemFieldPolicy policy;

    for (TandemFieldPolicy p2 = TANDEM_FIELD_POLICY_LWW; p2 <= TANDEM_FIELD_POLICY_SET; p2++)
      {
        g_assert_true (tandem_field_policy_from_string (tandem_field_policy_to_string (p2), &policy));
        g_assert_cmpint (policy, ==, p2);
      }
    g_assert_false (tandem_field_policy_from_string ("LWW", &policy));
    g_assert_false (tandem_field_policy_from_string (NULL, &policy));
  }
}

/* ---- value types ---------------------------------------------------------------------- */

/* Registers hold strings, integers and booleans (DESIGN.md: colour, pinned). */
static void
test_int_and_bool_values (void)
{
  g_autoptr(TandemNote) a = tandem_note_new (PEER_A);
  g_autoptr(TandemNote) b = tandem_note_new (PEER_B);
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemEvent) pinned = tandem_note_set_field (a, "pinned", g_variant_new_boolean (TRUE), &error);
  g_autoptr(TandemEvent) count = NULL;
  g_autoptr(GVariant) v1 = NULL;
  g_autoptr(GVariant) v2 = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (pinned);
  count = tandem_note_set_field (a, "count", g_variant_new_int64 (-42), &error);
  g_assert_no_error (error);
  send_missing (a, b);
  v1 = tandem_note_dup_field (b, "pinned");
  v2 = tandem_note_dup_field (b, "count");
  g_assert_true (g_variant_get_boolean (v1));
  g_assert_cmpint (g_variant_get_int64 (v2), ==, -42);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/field-table/lww/causal-beats-peer-order", test_lww_causal_beats_peer_order);
  g_test_add_func ("/engine/field-table/lww/higher-lamport", test_lww_higher_lamport);
  g_test_add_func ("/engine/field-table/lww/equal-lamport-higher-peer", test_lww_equal_lamport_higher_peer);
  g_test_add_func ("/engine/field-table/manual/same-value", test_manual_same_value);
  g_test_add_func ("/engine/field-table/manual/resolution-and-reopen", test_manual_resolution_and_reopen);
  g_test_add_func ("/engine/field-table/manual/partial-dominance", test_manual_partial_dominance);
  g_test_add_func ("/engine/field-table/unset/vs-concurrent-set", test_unset_vs_concurrent_set);
  g_test_add_func ("/engine/field-table/unset/wins", test_unset_wins);
  g_test_add_func ("/engine/field-table/set/add-wins", test_set_add_wins);
  g_test_add_func ("/engine/field-table/set/remove-observed", test_set_remove_observed);
  g_test_add_func ("/engine/field-table/policy/errors", test_policy_errors);
  g_test_add_func ("/engine/field-table/policy/switch", test_policy_switch);
  g_test_add_func ("/engine/field-table/wire/invalid-rejected", test_wire_invalid_rejected);
  g_test_add_func ("/engine/field-table/lamport/max-plus-one", test_lamport_max_plus_one);
  g_test_add_func ("/engine/field-table/delivery/field-changed-signal", test_field_changed_signal);
  g_test_add_func ("/engine/field-table/delivery/causal-buffer-and-duplicates", test_causal_buffer_and_duplicates);
  g_test_add_func ("/engine/field-table/delivery/concurrent-with-text", test_concurrent_with_text);
  g_test_add_func ("/engine/field-table/delivery/any-order", test_any_delivery_order);
  g_test_add_func ("/engine/field-table/table/dominated-and-duplicate", test_table_dominated_and_duplicate);
  g_test_add_func ("/engine/field-table/values/int-and-bool", test_int_and_bool_values);
  /* last: it fails while a refused write leaks its floating value */
  g_test_add_func ("/engine/field-table/values/refused-write-sinks-value", test_policy_error_sinks_value);

  return g_test_run ();
}

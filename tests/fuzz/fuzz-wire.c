/* fuzz-wire.c: the wire message decoder and the strict JSON check
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The input is one frame as a peer would send it. Besides "no crash, no
 * critical", the decoder must say yes or no and never both, and what it
 * takes must survive being written out and read again: a message as its
 * type, runs and version vectors as themselves. tandem_json_check() must
 * only ever pass text json-glib reads into a tree no deeper than it allows,
 * and which tandem_json_to_string() writes back as the same tree.
 */
#include <string.h>

#include "fuzz-common.h"
#include "tandem-event-codec.h"
#include "tandem-wire.h"

static guint
depth_of (JsonNode *node)
{
  guint deepest = 0;

  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          guint depth = depth_of (json_array_get_element (array, i));   /* MAX() reads it twice */

          deepest = MAX (deepest, depth);
        }
      return deepest + 1;
    }
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      JsonNode *member;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, NULL, &member))
        {
          guint depth = depth_of (member);

          deepest = MAX (deepest, depth);
        }
      return deepest + 1;
    }
  return 0;
}

/* What the strict check passes, json-glib must read, as no deeper a tree. */
static void
check_json_check (const char *data,
                  size_t      size)
{
  const guint max_depth = 8;
  const char *problem = tandem_json_check (data, (gssize) size, max_depth);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;

  if (problem != NULL)
    {
      fuzz_check (tandem_json_check (data, (gssize) size, max_depth) == problem,
                  "the check gave two answers for one text");
      return;
    }
  fuzz_check (memchr (data, '\0', size) == NULL, "the check passed a NUL byte");
  fuzz_check (!tandem_json_has_nul (data, (gssize) size), "the check passed an escaped NUL");
  if (!g_utf8_validate_len (data, size, NULL))
    return;   /* the check leaves UTF-8 to its callers */
  fuzz_check (json_parser_load_from_data (parser, data, (gssize) size, &error),
              "the strict check passed what json-glib refuses: %s", error ? error->message : "");
  fuzz_check (json_parser_get_root (parser) != NULL, "json-glib read no value from checked JSON");
  fuzz_check (depth_of (json_parser_get_root (parser)) <= max_depth,
              "the check passed JSON nested deeper than %u", max_depth);

  /* and what json-glib read, written out, is the same value to anyone
   * who checks and reads it again */
  {
    g_autofree char *written = tandem_json_to_string (json_parser_get_root (parser), NULL);
    g_autoptr(JsonParser) again = json_parser_new_immutable ();
    const char *written_problem = tandem_json_check (written, -1, max_depth);

    fuzz_check (written_problem == NULL, "checked JSON was written as %s, which the check refuses: %s",
                written, written_problem);
    fuzz_check (json_parser_load_from_data (again, written, -1, NULL) &&
                json_node_equal (json_parser_get_root (parser), json_parser_get_root (again)),
                "checked JSON was written as %s, which reads as another value", written);
  }
}

static void
check_round_trip_vv (JsonObject *msg,
                     const char *member)
{
  JsonNode *node = json_object_get_member (msg, member);
  g_autoptr(TandemVersionVector) vv = NULL;
  g_autoptr(TandemVersionVector) again = NULL;
  g_autoptr(JsonNode) written = NULL;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return;
  vv = tandem_version_vector_from_json (node, NULL);
  if (vv == NULL)
    return;
  written = tandem_version_vector_to_json (vv);
  again = tandem_version_vector_from_json (written, NULL);
  fuzz_check (again != NULL && tandem_version_vector_equal (vv, again),
              "a version vector changed on its way out and back");
}

/* A message taken must be taken again, as the same type, once written. */
static void
check_message (JsonObject     *msg,
               TandemWireType  type)
{
  g_autoptr(JsonNode) root = json_node_init_object (json_node_alloc (), msg);
  g_autofree char *written = NULL;
  g_autoptr(GError) error = NULL;
  TandemWireType again_type = TANDEM_WIRE_N_TYPES;
  g_autoptr(JsonObject) again = NULL;

  /* as a peer writes it */
  written = tandem_json_to_string (root, NULL);
  again = tandem_wire_parse (written, strlen (written), &again_type, &error);
  fuzz_check (again != NULL, "a message taken was refused once written out: %s\n%s",
              error ? error->message : "", written);
  fuzz_check (again_type == type, "a %s came back as a %s",
              tandem_wire_type_name (type), tandem_wire_type_name (again_type));

  if (type == TANDEM_WIRE_EVENTS)
    {
      /* as a session reads them: each run after the one before */
      JsonArray *runs = json_object_get_array_member (msg, "runs");
      g_autoptr(TandemEvent) previous = NULL;

      for (guint i = 0; i < json_array_get_length (runs); i++)
        {
          g_autoptr(TandemEvent) event = tandem_event_from_json_after (json_array_get_element (runs, i),
                                                                       previous, NULL);
          g_autoptr(JsonNode) node = NULL;
          g_autoptr(TandemEvent) event_again = NULL;
          g_autoptr(GError) run_error = NULL;

          if (event == NULL)
            break;
          node = tandem_event_to_json_after (event, previous);
          event_again = tandem_event_from_json_after (node, previous, &run_error);
          fuzz_check (event_again != NULL, "a run taken was refused once written out: %s",
                      run_error ? run_error->message : "");
          fuzz_check (tandem_event_equal (event, event_again), "a run changed on its way out and back");
          g_clear_pointer (&previous, tandem_event_unref);
          previous = g_steal_pointer (&event);
        }
    }
  if (type == TANDEM_WIRE_WANT || type == TANDEM_WIRE_CHECK || type == TANDEM_WIRE_PRESENCE)
    check_round_trip_vv (msg, "version");
  if (type == TANDEM_WIRE_HAVE)
    {
      JsonObjectIter iter;
      const char *name;
      JsonNode *member;

      json_object_iter_init (&iter, json_object_get_object_member (msg, "notes"));
      while (json_object_iter_next (&iter, &name, &member))
        {
          g_autoptr(TandemVersionVector) vv = tandem_version_vector_from_json (member, NULL);

          if (vv != NULL)
            {
              g_autoptr(JsonNode) written_vv = tandem_version_vector_to_json (vv);
              g_autoptr(TandemVersionVector) vv_again = tandem_version_vector_from_json (written_vv, NULL);

              fuzz_check (vv_again != NULL && tandem_version_vector_equal (vv, vv_again),
                          "a version vector changed on its way out and back");
            }
        }
    }
}

/* The same text as a saved or sent list of runs. */
static void
check_runs (const char *data,
            size_t      size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = tandem_events_from_string (data, (gssize) size, &error);
  g_autofree char *written = NULL;
  g_autoptr(GPtrArray) again = NULL;

  fuzz_check ((events == NULL) == (error != NULL), "runs: neither taken nor refused with a reason");
  if (events == NULL)
    return;
  written = tandem_events_to_string (events);
  again = tandem_events_from_string (written, -1, &error);
  fuzz_check (again != NULL && again->len == events->len, "runs taken were refused once written out: %s",
              error ? error->message : "");
  for (guint i = 0; i < events->len; i++)
    fuzz_check (tandem_event_equal (events->pdata[i], again->pdata[i]), "run %u changed on its way out and back", i);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  const char *text = (const char *) data;
  g_autoptr(GError) error = NULL;
  TandemWireType type = TANDEM_WIRE_N_TYPES;
  g_autoptr(JsonObject) msg = tandem_wire_parse (text, size, &type, &error);

  fuzz_check ((msg == NULL) != (error == NULL), "a frame was neither taken nor refused with a reason");
  if (msg != NULL)
    {
      fuzz_check (type < TANDEM_WIRE_N_TYPES, "a message of no type was taken");
      check_message (msg, type);
    }
  check_json_check (text, size);
  check_runs (text, size);
  return 0;
}

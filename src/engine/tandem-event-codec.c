/* tandem-event-codec.c: the JSON form of events and version vectors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One event run is one small object with short keys:
 *
 *   {"p":"00000000000000a1","s":7,"ps":[["00000000000000b2",3]],
 *    "k":"ins","at":12,"n":3,"t":"abc"}
 *   {"p":..,"s":..,"ps":..,"k":"del"|"bksp","at":12,"n":3}
 *   {"p":..,"s":..,"ps":..,"k":"field","f":"title","op":"set"|"add"|"rm",
 *    "v":"Plan"|42|true|null,"l":5,"o":[["00000000000000a1",2]]}
 *
 * Peer ids are 16 hex digits because JSON numbers lose 64-bit integers. A
 * version vector is {"<peer>": count, ...}. Decoding checks every type and
 * range and then tandem_event_validate(), so nothing malformed gets past.
 *
 * In a list, a run that continues the one before it (the same peer, the
 * next seq, its only parent that run's last event) leaves out "p", "s" and
 * "ps": one person's history is mostly such runs, and those three members
 * were most of what a catch-up sent.
 */
#include "tandem-event-codec.h"

#include "tandem-engine-error.h"

#include <string.h>

#define MAX_SAFE_INTEGER ((gint64) 1 << 53)

char *
tandem_peer_id_to_string (guint64 peer)
{
  return g_strdup_printf ("%016" G_GINT64_MODIFIER "x", peer);
}

gboolean
tandem_peer_id_from_string (const char *str,
                            guint64    *peer)
{
  guint64 value = 0;

  if (str == NULL || strlen (str) != 16)
    return FALSE;
  for (const char *c = str; *c; c++)
    {
      if (!g_ascii_isxdigit (*c) || g_ascii_isupper (*c))
        return FALSE;
      value = (value << 4) | (guint64) g_ascii_xdigit_value (*c);
    }
  *peer = value;
  return TRUE;
}

static void
add_ids (JsonBuilder         *builder,
         const TandemEventId *ids,
         guint                n)
{
  json_builder_begin_array (builder);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *peer = tandem_peer_id_to_string (ids[i].peer);

      json_builder_begin_array (builder);
      json_builder_add_string_value (builder, peer);
      json_builder_add_int_value (builder, (gint64) ids[i].seq);
      json_builder_end_array (builder);
    }
  json_builder_end_array (builder);
}

/**
 * tandem_json_add_field_value:
 * @value: (nullable): a field's value: a string, an integer, a boolean,
 *   or %NULL when unset
 *
 * Adds @value to @builder as the JSON value it stands for (null for
 * anything else).
 */
void
tandem_json_add_field_value (JsonBuilder *builder,
                             GVariant    *value)
{
  if (value == NULL)
    json_builder_add_null_value (builder);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    json_builder_add_string_value (builder, g_variant_get_string (value, NULL));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    json_builder_add_int_value (builder, g_variant_get_int64 (value));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    json_builder_add_boolean_value (builder, g_variant_get_boolean (value));
  else
    json_builder_add_null_value (builder);
}

/* Whether @event continues @previous, the run before it in a list. */
static gboolean
continues (const TandemEvent *event,
           const TandemEvent *previous)
{
  return previous != NULL && event->peer == previous->peer &&
         event->seq == previous->seq + previous->len && event->n_parents == 1 &&
         event->parents[0].peer == previous->peer &&
         event->parents[0].seq == previous->seq + previous->len - 1;
}

/**
 * tandem_event_to_json:
 *
 * Returns: (transfer full): the event's JSON form
 */
JsonNode *
tandem_event_to_json (const TandemEvent *event)
{
  return tandem_event_to_json_after (event, NULL);
}

/**
 * tandem_event_to_json_after:
 * @previous: (nullable): the run before @event in the list it is written in
 *
 * Like tandem_event_to_json(), without "p", "s" and "ps" when @event
 * continues @previous. Only tandem_event_from_json_after() with the same
 * @previous reads it back.
 *
 * Returns: (transfer full): the event's JSON form
 */
JsonNode *
tandem_event_to_json_after (const TandemEvent *event,
                            const TandemEvent *previous)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  static const char *kinds[] = { "ins", "del", "bksp", "field" };
  static const char *field_ops[] = { "set", "add", "rm" };

  json_builder_begin_object (builder);
  if (!continues (event, previous))
    {
      g_autofree char *peer = tandem_peer_id_to_string (event->peer);

      json_builder_set_member_name (builder, "p");
      json_builder_add_string_value (builder, peer);
      json_builder_set_member_name (builder, "s");
      json_builder_add_int_value (builder, (gint64) event->seq);
      json_builder_set_member_name (builder, "ps");
      add_ids (builder, event->parents, event->n_parents);
    }
  json_builder_set_member_name (builder, "k");
  json_builder_add_string_value (builder, kinds[event->kind]);

  if (event->kind == TANDEM_OP_FIELD)
    {
      json_builder_set_member_name (builder, "f");
      json_builder_add_string_value (builder, event->field);
      json_builder_set_member_name (builder, "op");
      json_builder_add_string_value (builder, field_ops[event->field_op]);
      json_builder_set_member_name (builder, "v");
      tandem_json_add_field_value (builder, event->value);
      json_builder_set_member_name (builder, "l");
      json_builder_add_int_value (builder, (gint64) event->lamport);
      if (event->n_observed > 0)
        {
          json_builder_set_member_name (builder, "o");
          add_ids (builder, event->observed, event->n_observed);
        }
    }
  else
    {
      json_builder_set_member_name (builder, "at");
      json_builder_add_int_value (builder, event->pos);
      json_builder_set_member_name (builder, "n");
      json_builder_add_int_value (builder, event->len);
      if (event->kind == TANDEM_OP_INSERT)
        {
          json_builder_set_member_name (builder, "t");
          json_builder_add_string_value (builder, event->text);
        }
    }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

#define BAD(...) \
  (g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT, __VA_ARGS__), FALSE)

static gboolean
get_uint (JsonObject  *object,
          const char  *member,
          gint64       max,
          gint64      *out,
          GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return BAD ("Member “%s” must be an integer", member);
  *out = json_node_get_int (node);
  if (*out < 0 || *out > max)
    return BAD ("Member “%s” is out of range: %" G_GINT64_FORMAT, member, *out);
  return TRUE;
}

static const char *
get_string (JsonObject  *object,
            const char  *member,
            GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                   "Member “%s” must be a string", member);
      return NULL;
    }
  return json_node_get_string (node);
}

static gboolean
get_ids (JsonObject  *object,
         const char  *member,
         GArray      *ids,
         GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return BAD ("Member “%s” must be a list of event ids", member);
  array = json_node_get_array (node);
  if (json_array_get_length (array) > TANDEM_EVENT_MAX_LEN)
    return BAD ("Member “%s” has too many ids", member);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *pair = json_array_get_element (array, i);
      JsonArray *a;
      JsonNode *peer, *seq;
      TandemEventId id;

      if (!JSON_NODE_HOLDS_ARRAY (pair) || json_array_get_length (a = json_node_get_array (pair)) != 2)
        return BAD ("Member “%s” item %u is not a [peer, seq] pair", member, i);
      peer = json_array_get_element (a, 0);
      seq = json_array_get_element (a, 1);
      if (!JSON_NODE_HOLDS_VALUE (peer) || json_node_get_value_type (peer) != G_TYPE_STRING ||
          !tandem_peer_id_from_string (json_node_get_string (peer), &id.peer))
        return BAD ("Member “%s” item %u has no valid peer id", member, i);
      if (!JSON_NODE_HOLDS_VALUE (seq) || json_node_get_value_type (seq) != G_TYPE_INT64 ||
          json_node_get_int (seq) < 0 || json_node_get_int (seq) > MAX_SAFE_INTEGER)
        return BAD ("Member “%s” item %u has no valid seq", member, i);
      id.seq = (guint64) json_node_get_int (seq);
      g_array_append_val (ids, id);
    }
  return TRUE;
}

/**
 * tandem_event_from_json:
 *
 * Returns: (transfer full) (nullable): the event, or %NULL with @error set
 *   saying what is wrong
 */
TandemEvent *
tandem_event_from_json (JsonNode  *node,
                        GError   **error)
{
  return tandem_event_from_json_after (node, NULL, error);
}

/**
 * tandem_event_from_json_after:
 * @previous: (nullable): the run before @node in the list it was read from
 *
 * Reads a run written by tandem_event_to_json_after(): one that leaves out
 * all of "p", "s" and "ps" continues @previous, and needs one.
 *
 * Returns: (transfer full) (nullable): the event, or %NULL with @error set
 */
TandemEvent *
tandem_event_from_json_after (JsonNode           *node,
                              const TandemEvent  *previous,
                              GError            **error)
{
  JsonObject *object;
  const char *kind;
  guint64 peer;
  gint64 seq;
  g_autoptr(GArray) parents = g_array_new (FALSE, FALSE, sizeof (TandemEventId));
  g_autoptr(TandemEvent) event = NULL;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                   "An event must be a JSON object");
      return NULL;
    }
  object = json_node_get_object (node);

  if (previous != NULL && !json_object_has_member (object, "p") &&
      !json_object_has_member (object, "s") && !json_object_has_member (object, "ps"))
    {
      TandemEventId parent = { previous->peer, previous->seq + previous->len - 1 };

      peer = previous->peer;
      seq = (gint64) (previous->seq + previous->len);
      if (seq > MAX_SAFE_INTEGER)
        {
          g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                       "The run after seq %" G_GUINT64_FORMAT " would have an invalid “s”",
                       previous->seq);
          return NULL;
        }
      g_array_append_val (parents, parent);
    }
  else
    {
      const char *peer_str;

      if (!(peer_str = get_string (object, "p", error)))
        return NULL;
      if (!tandem_peer_id_from_string (peer_str, &peer))
        {
          g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                       "“%s” is not a peer id (16 lower-case hex digits)", peer_str);
          return NULL;
        }
      if (!get_uint (object, "s", MAX_SAFE_INTEGER, &seq, error) ||
          !get_ids (object, "ps", parents, error))
        return NULL;
    }
  if (!(kind = get_string (object, "k", error)))
    return NULL;
  if (parents->len > TANDEM_EVENT_MAX_PARENTS)
    {
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                   "An event may have at most %u parents", TANDEM_EVENT_MAX_PARENTS);
      return NULL;
    }

  if (g_str_equal (kind, "field"))
    {
      const char *field, *op_str;
      TandemFieldOp op;
      gint64 lamport;
      JsonNode *v = json_object_get_member (object, "v");
      g_autoptr(GVariant) value = NULL;
      g_autoptr(GArray) observed = g_array_new (FALSE, FALSE, sizeof (TandemEventId));

      if (!(field = get_string (object, "f", error)) ||
          !(op_str = get_string (object, "op", error)) ||
          !get_uint (object, "l", MAX_SAFE_INTEGER, &lamport, error))
        return NULL;
      if (g_str_equal (op_str, "set"))
        op = TANDEM_FIELD_OP_SET;
      else if (g_str_equal (op_str, "add"))
        op = TANDEM_FIELD_OP_ADD;
      else if (g_str_equal (op_str, "rm"))
        op = TANDEM_FIELD_OP_REMOVE;
      else
        {
          g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                       "Unknown field operation “%s”", op_str);
          return NULL;
        }
      if (v == NULL)
        {
          g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                       "A field write needs a value “v” (null to unset)");
          return NULL;
        }
      if (JSON_NODE_HOLDS_NULL (v))
        value = NULL;
      else if (JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING)
        value = g_variant_ref_sink (g_variant_new_string (json_node_get_string (v)));
      else if (JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_INT64)
        value = g_variant_ref_sink (g_variant_new_int64 (json_node_get_int (v)));
      else if (JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_BOOLEAN)
        value = g_variant_ref_sink (g_variant_new_boolean (json_node_get_boolean (v)));
      else
        {
          g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                       "A field value must be a string, an integer, a boolean or null");
          return NULL;
        }
      if (json_object_has_member (object, "o") && !get_ids (object, "o", observed, error))
        return NULL;
      event = tandem_event_new_field (peer, (guint64) seq, (TandemEventId *) parents->data, parents->len,
                                      field, op, value, (guint64) lamport,
                                      (TandemEventId *) observed->data, observed->len);
    }
  else
    {
      TandemOpKind op;
      gint64 pos, len;
      const char *text = NULL;

      if (g_str_equal (kind, "ins"))
        op = TANDEM_OP_INSERT;
      else if (g_str_equal (kind, "del"))
        op = TANDEM_OP_DELETE_FORWARD;
      else if (g_str_equal (kind, "bksp"))
        op = TANDEM_OP_DELETE_BACKWARD;
      else
        {
          g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                       "Unknown event kind “%s”", kind);
          return NULL;
        }
      if (!get_uint (object, "at", G_MAXUINT32, &pos, error) ||
          !get_uint (object, "n", TANDEM_EVENT_MAX_LEN, &len, error))
        return NULL;
      if (op == TANDEM_OP_INSERT && !(text = get_string (object, "t", error)))
        return NULL;
      if (op != TANDEM_OP_INSERT && json_object_has_member (object, "t"))
        {
          g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                       "A delete carries no text");
          return NULL;
        }
      event = tandem_event_new_text (peer, (guint64) seq, (TandemEventId *) parents->data, parents->len,
                                     op, (guint32) pos, (guint32) len, text);
    }

  if (!tandem_event_validate (event, error))
    return NULL;
  return g_steal_pointer (&event);
}

JsonNode *
tandem_version_vector_to_json (const TandemVersionVector *vv)
{
  g_autoptr(JsonObject) object = json_object_new ();

  for (guint i = 0; i < tandem_version_vector_get_size (vv); i++)
    {
      const TandemVersionEntry *e = tandem_version_vector_get_entry (vv, i);
      g_autofree char *peer = tandem_peer_id_to_string (e->peer);

      json_object_set_int_member (object, peer, (gint64) e->count);
    }
  return json_node_init_object (json_node_alloc (), object);
}

TandemVersionVector *
tandem_version_vector_from_json (JsonNode  *node,
                                 GError   **error)
{
  g_autoptr(TandemVersionVector) vv = tandem_version_vector_new ();
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                   "A version vector must be a JSON object");
      return NULL;
    }
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &name, &value))
    {
      guint64 peer;

      if (!tandem_peer_id_from_string (name, &peer))
        {
          g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                       "“%s” is not a peer id", name);
          return NULL;
        }
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_INT64 ||
          json_node_get_int (value) < 0 || json_node_get_int (value) > MAX_SAFE_INTEGER)
        {
          g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                       "The count for peer %s is not a valid integer", name);
          return NULL;
        }
      tandem_version_vector_set (vv, peer, (guint64) json_node_get_int (value));
    }
  return g_steal_pointer (&vv);
}

/**
 * tandem_events_to_json:
 * @events: (element-type TandemEvent): runs
 *
 * Returns: (transfer full): a JSON array of the runs, each written after
 *   the one before it (tandem_event_to_json_after())
 */
JsonNode *
tandem_events_to_json (GPtrArray *events)
{
  g_autoptr(JsonArray) array = json_array_sized_new (events->len);

  for (guint i = 0; i < events->len; i++)
    json_array_add_element (array, tandem_event_to_json_after (g_ptr_array_index (events, i),
                                                               i > 0 ? g_ptr_array_index (events, i - 1) : NULL));
  return json_node_init_array (json_node_alloc (), array);
}

/**
 * tandem_events_to_string:
 * @events: (element-type TandemEvent): runs
 *
 * Returns: (transfer full): a compact JSON array of the runs
 */
char *
tandem_events_to_string (GPtrArray *events)
{
  g_autoptr(JsonNode) root = tandem_events_to_json (events);

  return tandem_json_to_string (root, NULL);
}

/**
 * tandem_events_from_string:
 *
 * Returns: (transfer container) (element-type TandemEvent) (nullable): the
 *   runs, or %NULL with @error set naming the first bad one
 */
GPtrArray *
tandem_events_from_string (const char  *json,
                           gssize       length,
                           GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  JsonNode *root;
  JsonArray *array;
  const char *problem;

  if ((problem = tandem_json_check (json, length, 64)) != NULL)
    {
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                   "events must be JSON: %s", problem);
      return NULL;
    }
  if (tandem_json_has_nul (json, length))
    {
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                   "Text and names may not contain a NUL character");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, json, length, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                   "Expected a JSON array of events");
      return NULL;
    }
  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autoptr(GError) local_error = NULL;
      TandemEvent *event = tandem_event_from_json_after (json_array_get_element (array, i),
                                                         i > 0 ? g_ptr_array_index (events, i - 1) : NULL,
                                                         &local_error);

      if (event == NULL)
        {
          g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                       "Event %u: %s", i, local_error->message);
          return NULL;
        }
      g_ptr_array_add (events, event);
    }
  return g_steal_pointer (&events);
}

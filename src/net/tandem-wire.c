/* tandem-wire.c: the messages peers exchange, and their checks
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every message is one WebSocket text frame holding one JSON object with a
 * "type". Ids are lowercase hex: peers 16 digits, notebooks and notes 32,
 * nonces and proofs 64, tags 16. Version vectors are objects of peer id ->
 * count; runs of events use the engine's codec, where a run that continues
 * the one before it in the list leaves out "p", "s" and "ps".
 *
 *   hello     proto, peer, name, colour, nonce      first, from both sides
 *   auth      tag, proof                            "I hold a notebook key"
 *   notebook  notebook, name, members[]             after both proved it
 *   have      notebook, notes{id: version}, full?   what I have; an ack
 *   events    notebook, note, runs[]                runs the other lacks
 *   want      notebook, note, version               resend what I lack
 *   check     notebook, note, version, sum          text+fields checksum
 *   presence  state, notebook?, note?, pos?, anchor?, version?
 *   rekey     notebook, key, removed[], members[]?  the key was rotated
 *   neighbors notebook, peers[]                     whom I sync it with directly
 *   ping                                            liveness
 *   error     reason                                then the sender closes
 *
 * tandem_wire_parse() checks the shape of a message: the members each type
 * needs, with the right JSON types and id formats, and the size limits.
 * What the content means (are these runs valid, is this note in that
 * notebook) is the sync session's check.
 */
#include "tandem-wire.h"

#include "tandem-event-codec.h"

#include <string.h>

G_DEFINE_QUARK (tandem-wire-error-quark, tandem_wire_error)

typedef enum
{
  M_STRING,   /* any string up to TANDEM_WIRE_MAX_NAME bytes */
  M_PEER,     /* 16 hex */
  M_ID,       /* 32 hex */
  M_HEX64,    /* 64 hex */
  M_TAG,      /* 16 hex */
  M_INT,      /* a non-negative integer */
  M_BOOL,
  M_OBJECT,
  M_ARRAY,
} MemberKind;

typedef struct
{
  const char *name;
  MemberKind kind;
  gboolean optional;
} MemberSpec;

typedef struct
{
  const char *type;
  MemberSpec members[7];
} MessageSpec;

static const MessageSpec specs[TANDEM_WIRE_N_TYPES] = {
  [TANDEM_WIRE_HELLO] = { "hello", {
    { "proto", M_INT }, { "peer", M_PEER }, { "name", M_STRING }, { "colour", M_STRING },
    { "nonce", M_HEX64 } } },
  [TANDEM_WIRE_AUTH] = { "auth", { { "tag", M_TAG }, { "proof", M_HEX64 } } },
  [TANDEM_WIRE_NOTEBOOK] = { "notebook", {
    { "notebook", M_ID }, { "name", M_STRING }, { "members", M_ARRAY } } },
  [TANDEM_WIRE_HAVE] = { "have", {
    { "notebook", M_ID }, { "notes", M_OBJECT }, { "full", M_BOOL, TRUE } } },
  [TANDEM_WIRE_EVENTS] = { "events", {
    { "notebook", M_ID }, { "note", M_ID }, { "runs", M_ARRAY } } },
  [TANDEM_WIRE_WANT] = { "want", {
    { "notebook", M_ID }, { "note", M_ID }, { "version", M_OBJECT } } },
  [TANDEM_WIRE_CHECK] = { "check", {
    { "notebook", M_ID }, { "note", M_ID }, { "version", M_OBJECT }, { "sum", M_HEX64 } } },
  [TANDEM_WIRE_PRESENCE] = { "presence", {
    { "state", M_STRING }, { "notebook", M_ID, TRUE }, { "note", M_ID, TRUE },
    { "pos", M_INT, TRUE }, { "anchor", M_INT, TRUE }, { "version", M_OBJECT, TRUE } } },
  [TANDEM_WIRE_REKEY] = { "rekey", {
    { "notebook", M_ID }, { "key", M_HEX64 }, { "removed", M_ARRAY }, { "members", M_ARRAY, TRUE } } },
  [TANDEM_WIRE_NEIGHBORS] = { "neighbors", { { "notebook", M_ID }, { "peers", M_ARRAY } } },
  [TANDEM_WIRE_PING] = { "ping", { { NULL } } },
  [TANDEM_WIRE_ERROR_MESSAGE] = { "error", { { "reason", M_STRING } } },
};

const char *
tandem_wire_type_name (TandemWireType type)
{
  g_return_val_if_fail (type < TANDEM_WIRE_N_TYPES, NULL);
  return specs[type].type;
}

/**
 * tandem_wire_is_hex:
 * @len: how many digits @str must have
 *
 * Returns: whether @str is exactly @len lowercase hex digits
 */
gboolean
tandem_wire_is_hex (const char *str,
                    gsize       len)
{
  gsize i;

  if (str == NULL)
    return FALSE;
  for (i = 0; str[i]; i++)
    if (i >= len || !(g_ascii_isdigit (str[i]) || (str[i] >= 'a' && str[i] <= 'f')))
      return FALSE;
  return i == len;
}

static gboolean
check_member (JsonObject        *object,
              const MemberSpec  *spec,
              GError           **error)
{
  JsonNode *node = json_object_get_member (object, spec->name);
  const char *str = NULL;
  gsize hex_len = 0;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (spec->optional)
        return TRUE;
      g_set_error (error, TANDEM_WIRE_ERROR, TANDEM_WIRE_ERROR_MALFORMED,
                   "the member \"%s\" is missing", spec->name);
      return FALSE;
    }

  switch (spec->kind)
    {
    case M_OBJECT:
      if (JSON_NODE_HOLDS_OBJECT (node))
        return TRUE;
      break;
    case M_ARRAY:
      if (JSON_NODE_HOLDS_ARRAY (node))
        return TRUE;
      break;
    case M_BOOL:
      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
        return TRUE;
      break;
    case M_INT:
      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64 &&
          json_node_get_int (node) >= 0)
        return TRUE;
      break;
    case M_STRING:
    case M_PEER:
    case M_ID:
    case M_HEX64:
    case M_TAG:
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        break;
      str = json_node_get_string (node);
      if (spec->kind == M_STRING)
        {
          if (strlen (str) <= TANDEM_WIRE_MAX_NAME)
            return TRUE;
          g_set_error (error, TANDEM_WIRE_ERROR, TANDEM_WIRE_ERROR_LIMIT,
                       "\"%s\" is longer than %u bytes", spec->name, TANDEM_WIRE_MAX_NAME);
          return FALSE;
        }
      hex_len = spec->kind == M_PEER || spec->kind == M_TAG ? 16 : spec->kind == M_ID ? 32 : 64;
      if (tandem_wire_is_hex (str, hex_len))
        return TRUE;
      g_set_error (error, TANDEM_WIRE_ERROR, TANDEM_WIRE_ERROR_MALFORMED,
                   "\"%s\" must be %" G_GSIZE_FORMAT " lowercase hex digits", spec->name, hex_len);
      return FALSE;
    }

  g_set_error (error, TANDEM_WIRE_ERROR, TANDEM_WIRE_ERROR_MALFORMED,
               "the member \"%s\" has the wrong type", spec->name);
  return FALSE;
}

/**
 * tandem_wire_parse:
 * @data: one frame, not necessarily NUL-terminated
 * @type: (out): which message it is
 *
 * Returns: (transfer full): the message, its shape checked, or %NULL with
 *   @error saying what is wrong with it
 */
JsonObject *
tandem_wire_parse (const char      *data,
                   gsize            len,
                   TandemWireType  *type,
                   GError         **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) parse_error = NULL;
  JsonNode *root, *type_node;
  JsonObject *object;
  const char *name;
  const char *problem;

  if (len > 0 && memchr (data, '\0', len) != NULL)
    {
      g_set_error (error, TANDEM_WIRE_ERROR, TANDEM_WIRE_ERROR_MALFORMED,
                   "a message may not contain a NUL byte");
      return NULL;
    }
  if ((problem = tandem_json_check (data, (gssize) len, TANDEM_WIRE_MAX_DEPTH)) != NULL)
    {
      g_set_error (error, TANDEM_WIRE_ERROR, TANDEM_WIRE_ERROR_MALFORMED,
                   "a message must be exactly one JSON object: %s", problem);
      return NULL;
    }
  if (!g_utf8_validate_len (data, len, NULL))
    {
      g_set_error (error, TANDEM_WIRE_ERROR, TANDEM_WIRE_ERROR_MALFORMED,
                   "a message must be valid UTF-8");
      return NULL;
    }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize) len, &parse_error))
    {
      g_set_error (error, TANDEM_WIRE_ERROR, TANDEM_WIRE_ERROR_MALFORMED,
                   "a message must be JSON: %s", parse_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, TANDEM_WIRE_ERROR, TANDEM_WIRE_ERROR_MALFORMED,
                   "a message must be a JSON object");
      return NULL;
    }
  object = json_node_get_object (root);
  type_node = json_object_get_member (object, "type");
  if (type_node == NULL || !JSON_NODE_HOLDS_VALUE (type_node) ||
      json_node_get_value_type (type_node) != G_TYPE_STRING)
    {
      g_set_error (error, TANDEM_WIRE_ERROR, TANDEM_WIRE_ERROR_MALFORMED,
                   "a message needs a string \"type\"");
      return NULL;
    }
  name = json_node_get_string (type_node);

  for (guint t = 0; t < TANDEM_WIRE_N_TYPES; t++)
    {
      if (!g_str_equal (specs[t].type, name))
        continue;
      for (guint m = 0; specs[t].members[m].name != NULL; m++)
        if (!check_member (object, &specs[t].members[m], error))
          {
            g_prefix_error (error, "%s: ", name);
            return NULL;
          }
      *type = t;
      return json_object_ref (object);
    }
  g_set_error (error, TANDEM_WIRE_ERROR, TANDEM_WIRE_ERROR_PROTOCOL,
               "unknown message type \"%.32s\"", name);
  return NULL;
}

/**
 * tandem_wire_begin:
 *
 * Returns: (transfer full): a builder with an open object holding "type";
 *   add members, then tandem_wire_end()
 */
JsonBuilder *
tandem_wire_begin (TandemWireType type)
{
  JsonBuilder *b = json_builder_new_immutable ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, specs[type].type);
  return b;
}

/**
 * tandem_wire_end:
 * @builder: (transfer full): from tandem_wire_begin()
 *
 * Returns: (transfer full): the message as compact JSON
 */
char *
tandem_wire_end (JsonBuilder *builder,
                 gsize       *len)
{
  g_autoptr(JsonBuilder) b = builder;
  g_autoptr(JsonNode) root = NULL;

  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return tandem_json_to_string (root, len);
}

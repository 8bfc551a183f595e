/* tandem-scenario.c: scripted multi-peer scenarios with expected results
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A scenario is a JSON object (the full format: ../shared/scenarios/FORMAT.md):
 *
 *   {"name": "...", "peers": ["A", "B"], "initial": "text typed by a root peer",
 *    "fields": {"title": "manual", "tags": "set"},       (unlisted fields: lww)
 *    "steps": [{"at": "A", "do": "ins", "pos": 1, "text": "x", "name": "A1"},
 *              {"at": "B", "do": "del", "pos": 0, "len": 1, "name": "B1"},
 *              {"at": "A", "do": "set" | "unset", "field": "title", "value": "Plan"},
 *              {"at": "A", "do": "add" | "remove", "field": "tags", "elem": "x"},
 *              {"at": "B", "do": "receive", "ops": ["A1"]},
 *              {"at": "A", "do": "sync", "with": "B"}, {"do": "sync-all"},
 *              {"at": "A", "do": "restart"},
 *              {"at": "A", "expect": {"text": "...", "pending": ["B1"],
 *                                     "fields": {"title": {"lww": "x", "manual": {"conflict": ["x", "y"]}},
 *                                                "tags": {"set": ["a"]}}}}],
 *    "expect": {...}}                       (checked on every peer after a full sync)
 *
 * Peer ids follow the byte order of the names, so the lower name goes left
 * when concurrent inserts tie. A step that cannot be done (past the end, an
 * empty insert, an op name that does not exist, a write that does not fit
 * the field's policy) refuses the file.
 *
 * All peers live in this process; "the network" is handing TandemEvent runs
 * from one note to another. A restart rebuilds the peer from its own events
 * and causal buffer (what its store would hold), so the state it recovers
 * is exactly what it had durably.
 */
#include "tandem-scenario.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "tandem-engine-error.h"
#include "tandem-event.h"
#include "tandem-event-codec.h"
#include "tandem-note.h"
#include "tandem-saved-note.h"

#define ROOT_PEER 1

typedef struct
{
  char *name;
  TandemNote *note;
  char *profile;                /* its store, made at its first restart */
  char *note_id;
} Peer;

typedef struct
{
  const char *scenario_name;
  JsonObject *root;
  GArray *peers;                /* Peer, in the order of the file */
  GHashTable *policies;         /* field -> TandemFieldPolicy */
  GHashTable *ops;              /* op name -> GPtrArray of TandemEvent */
  GRand *rand;                  /* NULL for the run as written */
  GString *failure;
} Run;

static void
peer_clear (gpointer data)
{
  Peer *peer = data;

  g_free (peer->name);
  g_clear_object (&peer->note);
  if (peer->profile != NULL)
    tandem_store_delete_profile (peer->profile, NULL);
  g_free (peer->profile);
  g_free (peer->note_id);
}

static TandemNote *
new_note (Run     *run,
          guint64  peer_id)
{
  TandemNote *note = tandem_note_new (peer_id);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, run->policies);
  while (g_hash_table_iter_next (&iter, &key, &value))
    tandem_note_set_field_policy (note, key, GPOINTER_TO_UINT (value));
  return note;
}

static Peer *
find_peer (Run        *run,
           const char *name)
{
  for (guint i = 0; i < run->peers->len; i++)
    if (g_str_equal (g_array_index (run->peers, Peer, i).name, name))
      return &g_array_index (run->peers, Peer, i);
  return NULL;
}

static gboolean
deliver (TandemNote *to,
         GPtrArray  *events,
         GError    **error)
{
  for (guint i = 0; i < events->len; i++)
    if (!tandem_note_receive (to, g_ptr_array_index (events, i), error))
      return FALSE;
  return TRUE;
}

/* Both send each other what the other lacks until neither lacks anything;
 * a batch can release held events, which then need sending too. */
static gboolean
sync_pair (TandemNote  *a,
           TandemNote  *b,
           GError     **error)
{
  for (;;)
    {
      g_autoptr(GPtrArray) to_b = tandem_note_dup_events_since (a, tandem_note_get_version (b));
      g_autoptr(GPtrArray) to_a = tandem_note_dup_events_since (b, tandem_note_get_version (a));

      if (to_a->len == 0 && to_b->len == 0)
        return TRUE;
      if (!deliver (b, to_b, error) || !deliver (a, to_a, error))
        return FALSE;
    }
}

static gboolean
sync_all (Run     *run,
          GError **error)
{
  gboolean changed = TRUE;

  while (changed)
    {
      changed = FALSE;
      for (guint i = 0; i < run->peers->len; i++)
        for (guint j = i + 1; j < run->peers->len; j++)
          {
            TandemNote *a = g_array_index (run->peers, Peer, i).note;
            TandemNote *b = g_array_index (run->peers, Peer, j).note;
            g_autoptr(TandemVersionVector) va = tandem_version_vector_copy (tandem_note_get_version (a));
            g_autoptr(TandemVersionVector) vb = tandem_version_vector_copy (tandem_note_get_version (b));

            if (!sync_pair (a, b, error))
              return FALSE;
            changed |= !tandem_version_vector_equal (va, tandem_note_get_version (a)) ||
                       !tandem_version_vector_equal (vb, tandem_note_get_version (b));
          }
    }
  return TRUE;
}

/* What --shuffle does instead of the final sync: every peer gets every
 * event anyone has, cut into random pieces, in random order, some twice,
 * many before their parents. */
static gboolean
shuffled_delivery (Run     *run,
                   GError **error)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);

  for (guint i = 0; i < run->peers->len; i++)
    {
      TandemNote *note = g_array_index (run->peers, Peer, i).note;
      g_autoptr(GPtrArray) mine = tandem_note_dup_events_since (note, NULL);
      g_autoptr(GPtrArray) pending = tandem_note_dup_pending (note);

      g_ptr_array_extend_and_steal (mine, g_steal_pointer (&pending));
      for (guint k = 0; k < mine->len; k++)
        {
          TandemEvent *e = g_ptr_array_index (mine, k);
          guint32 offset = 0;

          if (e->kind == TANDEM_OP_FIELD || e->len == 1)
            {
              g_ptr_array_add (all, tandem_event_ref (e));
              continue;
            }
          while (offset < e->len)
            {
              guint32 n = g_rand_int_range (run->rand, 1, e->len - offset + 1);

              g_ptr_array_add (all, tandem_event_slice (e, offset, n));
              offset += n;
            }
        }
    }

  for (guint i = 0; i < run->peers->len; i++)
    {
      TandemNote *note = g_array_index (run->peers, Peer, i).note;
      g_autoptr(GPtrArray) order = g_ptr_array_new ();

      for (guint k = 0; k < all->len; k++)
        {
          g_ptr_array_add (order, g_ptr_array_index (all, k));
          if (g_rand_int_range (run->rand, 0, 5) == 0)
            g_ptr_array_add (order, g_ptr_array_index (all, k));
        }
      for (guint k = order->len; k > 1; k--)
        {
          guint j = g_rand_int_range (run->rand, 0, k);
          gpointer t = order->pdata[k - 1];

          order->pdata[k - 1] = order->pdata[j];
          order->pdata[j] = t;
        }
      if (!deliver (note, order, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- expectations ------------------------------------------------------ */

static JsonNode *
variant_to_json (GVariant *value)
{
  JsonNode *node = json_node_alloc ();

  if (value == NULL)
    return json_node_init_null (node);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return json_node_init_string (node, g_variant_get_string (value, NULL));
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    return json_node_init_int (node, g_variant_get_int64 (value));
  return json_node_init_boolean (node, g_variant_get_boolean (value));
}

static GVariant *
json_to_variant (JsonNode  *node,
                 GError   **error)
{
  if (JSON_NODE_HOLDS_VALUE (node))
    switch (json_node_get_value_type (node))
      {
      case G_TYPE_STRING:
        return g_variant_ref_sink (g_variant_new_string (json_node_get_string (node)));
      case G_TYPE_INT64:
        return g_variant_ref_sink (g_variant_new_int64 (json_node_get_int (node)));
      case G_TYPE_BOOLEAN:
        return g_variant_ref_sink (g_variant_new_boolean (json_node_get_boolean (node)));
      default:
        break;
      }
  g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_FIELD,
               "a field value must be a string, an integer or a boolean");
  return NULL;
}

static char *
node_to_string (JsonNode *node)
{
  return json_to_string (node, FALSE);
}

/* Compares JSON values, treating lists as unordered when @unordered. */
static gboolean
json_same (JsonNode *a,
           JsonNode *b,
           gboolean  unordered)
{
  if (JSON_NODE_HOLDS_ARRAY (a) && JSON_NODE_HOLDS_ARRAY (b) && unordered)
    {
      JsonArray *x = json_node_get_array (a), *y = json_node_get_array (b);
      guint n = json_array_get_length (x);
      g_autofree gboolean *used = g_new0 (gboolean, MAX (n, 1));

      if (n != json_array_get_length (y))
        return FALSE;
      for (guint i = 0; i < n; i++)
        {
          gboolean found = FALSE;

          for (guint j = 0; j < n && !found; j++)
            if (!used[j] && json_node_equal (json_array_get_element (x, i), json_array_get_element (y, j)))
              found = used[j] = TRUE;
          if (!found)
            return FALSE;
        }
      return TRUE;
    }
  if (JSON_NODE_HOLDS_OBJECT (a) && JSON_NODE_HOLDS_OBJECT (b))
    {
      JsonObject *x = json_node_get_object (a), *y = json_node_get_object (b);
      g_autoptr(GList) members = json_object_get_members (x);

      if (json_object_get_size (x) != json_object_get_size (y))
        return FALSE;
      for (GList *l = members; l; l = l->next)
        if (!json_object_has_member (y, l->data) ||
            !json_same (json_object_get_member (x, l->data), json_object_get_member (y, l->data), unordered))
          return FALSE;
      return TRUE;
    }
  return json_node_equal (a, b);
}

static JsonNode *
read_field (TandemNote *note,
            const char *field,
            const char *mode)
{
  if (g_str_equal (mode, "lww"))
    {
      g_autoptr(GVariant) v = tandem_note_dup_field (note, field);
      return variant_to_json (v);
    }
  if (g_str_equal (mode, "manual"))
    {
      g_autoptr(GPtrArray) values = tandem_note_dup_field_values (note, field);
      JsonArray *list;
      JsonObject *conflict;
      JsonNode *node;

      if (values->len == 0)
        return json_node_init_null (json_node_alloc ());
      if (values->len == 1)
        return variant_to_json (g_ptr_array_index (values, 0));
      list = json_array_new ();
      for (guint i = 0; i < values->len; i++)
        json_array_add_element (list, variant_to_json (g_ptr_array_index (values, i)));
      conflict = json_object_new ();
      json_object_set_array_member (conflict, "conflict", list);
      node = json_node_init_object (json_node_alloc (), conflict);
      json_object_unref (conflict);
      return node;
    }
  if (g_str_equal (mode, "set"))
    {
      g_autoptr(GPtrArray) elems = tandem_note_dup_set (note, field);
      g_autoptr(JsonArray) list = json_array_new ();

      for (guint i = 0; i < elems->len; i++)
        json_array_add_string_element (list, g_ptr_array_index (elems, i));
      return json_node_init_array (json_node_alloc (), list);
    }
  return NULL;
}

static gboolean
op_is_pending (Run        *run,
               TandemNote *note,
               GPtrArray  *op_events)
{
  g_autoptr(GPtrArray) pending = tandem_note_dup_pending (note);

  for (guint i = 0; i < pending->len; i++)
    {
      TandemEvent *p = g_ptr_array_index (pending, i);

      for (guint j = 0; j < op_events->len; j++)
        {
          TandemEvent *e = g_ptr_array_index (op_events, j);

          if (e->peer == p->peer && e->seq < p->seq + p->len && p->seq < e->seq + e->len)
            return TRUE;
        }
    }
  return FALSE;
}

static gboolean
check_expect (Run        *run,
              const char *step,
              Peer       *peer,
              JsonObject *expect)
{
  TandemNote *note = peer->note;

  if (json_object_has_member (expect, "text"))
    {
      const char *want = json_object_get_string_member (expect, "text");
      g_autofree char *got = tandem_note_dup_text (note);

      if (g_strcmp0 (want, got) != 0)
        {
          g_string_append_printf (run->failure, "step %s at %s: expected text \"%s\", got \"%s\"",
                                  step, peer->name, want, got);
          return FALSE;
        }
    }

  if (json_object_has_member (expect, "pending"))
    {
      JsonArray *want = json_object_get_array_member (expect, "pending");
      g_autoptr(JsonNode) want_node = json_node_init_array (json_node_alloc (), want);
      g_autoptr(JsonArray) got_list = json_array_new ();
      g_autoptr(JsonNode) got_node = json_node_init_array (json_node_alloc (), got_list);
      GHashTableIter iter;
      gpointer name, events;

      g_hash_table_iter_init (&iter, run->ops);
      while (g_hash_table_iter_next (&iter, &name, &events))
        if (op_is_pending (run, note, events))
          json_array_add_string_element (json_node_get_array (got_node), name);
      if (!json_same (want_node, got_node, TRUE))
        {
          g_autofree char *w = node_to_string (want_node);
          g_autofree char *g = node_to_string (got_node);

          g_string_append_printf (run->failure, "step %s at %s: expected pending %s, got %s",
                                  step, peer->name, w, g);
          return FALSE;
        }
    }

  if (json_object_has_member (expect, "fields"))
    {
      JsonObject *fields = json_object_get_object_member (expect, "fields");
      g_autoptr(GList) names = json_object_get_members (fields);

      for (GList *l = names; l; l = l->next)
        {
          JsonObject *reads = json_object_get_object_member (fields, l->data);
          g_autoptr(GList) modes = json_object_get_members (reads);

          for (GList *m = modes; m; m = m->next)
            {
              JsonNode *want = json_object_get_member (reads, m->data);
              g_autoptr(JsonNode) got = read_field (note, l->data, m->data);
              gboolean same;

              if (got == NULL)
                {
                  g_string_append_printf (run->failure, "step %s at %s: unknown read “%s”",
                                          step, peer->name, (char *) m->data);
                  return FALSE;
                }
              same = json_same (want, got, TRUE);
              if (!same)
                {
                  g_autofree char *w = node_to_string (want);
                  g_autofree char *g = node_to_string (got);

                  g_string_append_printf (run->failure, "step %s at %s: expected %s.%s %s, got %s",
                                          step, peer->name, (char *) l->data, (char *) m->data, w, g);
                  return FALSE;
                }
            }
        }
    }
  return TRUE;
}

/* ---- steps --------------------------------------------------------------- */

/* Gives @to everything @from has, its causal buffer included. */
static gboolean
replay_into (TandemNote  *to,
             TandemNote  *from,
             GError     **error)
{
  g_autoptr(GPtrArray) events = tandem_note_dup_events_since (from, tandem_note_get_version (to));
  g_autoptr(GPtrArray) pending = tandem_note_dup_pending (from);

  return deliver (to, events, error) && deliver (to, pending, error);
}

/* Stops the peer and loads it again from its own store: the note is
 * committed as a running peer would have, the store is closed, and a new
 * store and note are opened from the files alone. The profile is made in a
 * temporary folder at the first restart, with the whole note. */
static gboolean
restart_peer (Run    *run,
              Peer   *peer,
              GError **error)
{
  guint64 peer_id = tandem_note_get_peer_id (peer->note);
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(TandemSavedNote) saved = NULL;
  GHashTableIter iter;
  gpointer key, value;

  if (peer->profile == NULL)
    {
      peer->profile = g_dir_make_tmp ("tandem-scenario-XXXXXX", error);
      if (peer->profile == NULL)
        return FALSE;
    }
  if (!(store = tandem_store_open (peer->profile, error)))
    return FALSE;
  if (peer->note_id == NULL)
    {
      saved = tandem_saved_note_adopt (store, tandem_store_get_private_notebook_id (store), peer->note, error);
      if (saved == NULL)
        return FALSE;
      peer->note_id = g_strdup (tandem_saved_note_get_id (saved));
    }
  else
    {
      /* what the last restart loaded, and everything since */
      saved = tandem_saved_note_load (store, peer->note_id, peer_id, error);
      if (saved == NULL)
        return FALSE;
      if (!replay_into (tandem_saved_note_get_note (saved), peer->note, error))
        return FALSE;
    }
  if (!tandem_saved_note_commit (saved, error))
    return FALSE;
  g_clear_object (&saved);
  g_clear_object (&store);
  g_clear_object (&peer->note);

  if (!(store = tandem_store_open (peer->profile, error)) ||
      !(saved = tandem_saved_note_load (store, peer->note_id, peer_id, error)))
    return FALSE;
  peer->note = g_object_ref (tandem_saved_note_get_note (saved));
  g_hash_table_iter_init (&iter, run->policies);
  while (g_hash_table_iter_next (&iter, &key, &value))
    tandem_note_set_field_policy (peer->note, key, GPOINTER_TO_UINT (value));
  return TRUE;
}

static void
record_op (Run         *run,
           JsonObject  *step,
           TandemEvent *event)
{
  const char *name = json_object_get_string_member_with_default (step, "name", NULL);
  GPtrArray *events;

  if (name == NULL)
    return;
  events = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  g_ptr_array_add (events, tandem_event_ref (event));
  g_hash_table_replace (run->ops, g_strdup (name), events);
}

static gboolean
refuse (GError     **error,
        const char  *format,
        ...) G_GNUC_PRINTF (2, 3);

static gboolean
refuse (GError     **error,
        const char  *format,
        ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_FAILED, message);
  return FALSE;
}

static gboolean
run_step (Run         *run,
          JsonObject  *step,
          Peer        *peer,
          GError     **error)
{
  const char *what = json_object_get_string_member_with_default (step, "do", NULL);
  TandemEvent *event = NULL;
  const char *field = json_object_get_string_member_with_default (step, "field", NULL);

  if (g_str_equal (what, "ins"))
    {
      const char *text = json_object_get_string_member_with_default (step, "text", "");
      gint64 pos = json_object_get_int_member_with_default (step, "pos", -1);

      if (*text == '\0')
        return refuse (error, "an insert of no text makes no event");
      if (pos < 0 || pos > tandem_note_get_length (peer->note))
        return refuse (error, "position %" G_GINT64_FORMAT " is past the end of the text (%u)",
                       pos, tandem_note_get_length (peer->note));
      event = tandem_note_insert (peer->note, pos, text, error);
    }
  else if (g_str_equal (what, "del"))
    {
      gint64 pos = json_object_get_int_member_with_default (step, "pos", -1);
      gint64 len = json_object_get_int_member_with_default (step, "len", 0);

      if (len <= 0)
        return refuse (error, "a delete of %" G_GINT64_FORMAT " code points makes no event", len);
      if (pos < 0 || pos + len > tandem_note_get_length (peer->note))
        return refuse (error, "delete %" G_GINT64_FORMAT "+%" G_GINT64_FORMAT " reaches past the end of the text (%u)",
                       pos, len, tandem_note_get_length (peer->note));
      event = tandem_note_delete (peer->note, pos, len, error);
    }
  else if (g_str_equal (what, "set") || g_str_equal (what, "unset"))
    {
      g_autoptr(GVariant) value = NULL;

      if (field == NULL)
        return refuse (error, "a field write needs a field");
      if (g_str_equal (what, "set"))
        {
          JsonNode *v = json_object_get_member (step, "value");

          if (v == NULL || !(value = json_to_variant (v, error)))
            return refuse (error, "“set” needs a string, number or boolean value");
        }
      event = tandem_note_set_field (peer->note, field, value, error);
    }
  else if (g_str_equal (what, "add") || g_str_equal (what, "remove"))
    {
      const char *elem = json_object_get_string_member_with_default (step, "elem", NULL);

      if (field == NULL || elem == NULL)
        return refuse (error, "“%s” needs a field and a string elem", what);
      event = g_str_equal (what, "add") ? tandem_note_add_to_set (peer->note, field, elem, error)
                                        : tandem_note_remove_from_set (peer->note, field, elem, error);
    }
  else if (g_str_equal (what, "receive"))
    {
      JsonNode *ops = json_object_get_member (step, "ops");
      JsonArray *names = ops ? json_node_get_array (ops) : NULL;

      if (names == NULL)
        return refuse (error, "“receive” needs “ops”");
      for (guint i = 0; i < json_array_get_length (names); i++)
        {
          const char *name = json_array_get_string_element (names, i);
          GPtrArray *events = name ? g_hash_table_lookup (run->ops, name) : NULL;

          if (events == NULL)
            return refuse (error, "no op is named “%s”", name ? name : "(not a string)");
          if (!deliver (peer->note, events, error))
            return FALSE;
        }
      return TRUE;
    }
  else if (g_str_equal (what, "sync"))
    {
      const char *with = json_object_get_string_member_with_default (step, "with", "");
      Peer *other = find_peer (run, with);

      if (other == NULL)
        return refuse (error, "no peer is named “%s”", with);
      return sync_pair (peer->note, other->note, error);
    }
  else if (g_str_equal (what, "sync-all"))
    return sync_all (run, error);
  else if (g_str_equal (what, "restart"))
    return restart_peer (run, peer, error);
  else
    return refuse (error, "unknown step “%s”", what);

  if (event == NULL)
    return FALSE;
  record_op (run, step, event);
  tandem_event_unref (event);
  return TRUE;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  /* byte order, as FORMAT.md asks */
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static gboolean
setup (Run     *run,
       GError **error)
{
  JsonNode *peers = json_object_get_member (run->root, "peers");
  JsonArray *names = peers ? json_node_get_array (peers) : NULL;
  g_autoptr(GPtrArray) sorted = g_ptr_array_new ();
  JsonObject *fields = json_object_has_member (run->root, "fields")
                     ? json_object_get_object_member (run->root, "fields") : NULL;
  const char *initial = json_object_get_string_member_with_default (run->root, "initial", "");

  if (names == NULL || json_array_get_length (names) == 0)
    return refuse (error, "a scenario needs “peers”");

  if (fields != NULL)
    {
      g_autoptr(GList) members = json_object_get_members (fields);

      for (GList *l = members; l; l = l->next)
        {
          TandemFieldPolicy policy;

          if (!tandem_field_policy_from_string (json_object_get_string_member (fields, l->data), &policy))
            return refuse (error, "field “%s” has an unknown policy", (char *) l->data);
          g_hash_table_insert (run->policies, g_strdup (l->data), GUINT_TO_POINTER (policy));
        }
    }

  /* Peer ids follow the byte order of the names: the lower goes left. */
  for (guint i = 0; i < json_array_get_length (names); i++)
    g_ptr_array_add (sorted, (gpointer) json_array_get_string_element (names, i));
  g_ptr_array_sort (sorted, compare_names);
  for (guint i = 0; i < json_array_get_length (names); i++)
    {
      const char *name = json_array_get_string_element (names, i);
      Peer peer = { NULL };
      guint rank;

      if (name == NULL || find_peer (run, name) != NULL)
        return refuse (error, "peer names must be distinct strings");
      peer.name = g_strdup (name);
      for (rank = 0; g_strcmp0 (sorted->pdata[rank], name) != 0; rank++)
        ;
      peer.note = new_note (run, ROOT_PEER + 1 + rank);
      g_array_append_val (run->peers, peer);
    }

  if (*initial != '\0')
    {
      g_autoptr(TandemNote) root = new_note (run, ROOT_PEER);
      g_autoptr(TandemEvent) event = tandem_note_insert (root, 0, initial, error);
      g_autoptr(GPtrArray) events = NULL;

      if (event == NULL)
        return FALSE;
      events = tandem_note_dup_events_since (root, NULL);
      for (guint i = 0; i < run->peers->len; i++)
        if (!deliver (g_array_index (run->peers, Peer, i).note, events, error))
          return FALSE;
    }
  return TRUE;
}

/* Runs the scenario once; the final delivery is random when run->rand is
 * set. Fills run->failure and returns FALSE on the first failed check. */
static gboolean
run_once (Run *run)
{
  JsonNode *steps_node = json_object_get_member (run->root, "steps");
  JsonArray *steps = steps_node ? json_node_get_array (steps_node) : NULL;
  g_autoptr(GError) error = NULL;

  if (!setup (run, &error))
    {
      g_string_append_printf (run->failure, "step 0: refused: %s", error->message);
      return FALSE;
    }

  for (guint i = 0; steps && i < json_array_get_length (steps); i++)
    {
      JsonObject *step = json_array_get_object_element (steps, i);
      const char *at = step ? json_object_get_string_member_with_default (step, "at", NULL) : NULL;
      Peer *peer = at ? find_peer (run, at) : NULL;
      g_autofree char *label = g_strdup_printf ("%u", i + 1);

      if (step == NULL || (at != NULL && peer == NULL))
        {
          g_string_append_printf (run->failure, "step %u: refused: no peer is named “%s”", i + 1, at ? at : "");
          return FALSE;
        }
      if (json_object_has_member (step, "do"))
        {
          const char *what = json_object_get_string_member_with_default (step, "do", "");

          if (peer == NULL && !g_str_equal (what, "sync-all"))
            {
              g_string_append_printf (run->failure, "step %u: refused: “%s” needs “at”", i + 1, what);
              return FALSE;
            }
          if (!run_step (run, step, peer, &error))
            {
              g_string_append_printf (run->failure, "step %u at %s: refused: %s", i + 1, at ? at : "all", error->message);
              return FALSE;
            }
        }
      if (json_object_has_member (step, "expect"))
        {
          if (peer == NULL)
            {
              g_string_append_printf (run->failure, "step %u: refused: an expectation needs “at”", i + 1);
              return FALSE;
            }
          if (!check_expect (run, label, peer, json_object_get_object_member (step, "expect")))
            return FALSE;
        }
    }

  if (json_object_has_member (run->root, "expect"))
    {
      JsonObject *expect = json_object_get_object_member (run->root, "expect");
      gboolean ok = run->rand ? shuffled_delivery (run, &error) : sync_all (run, &error);

      if (!ok)
        {
          g_string_append_printf (run->failure, "step final: %s", error->message);
          return FALSE;
        }
      for (guint i = 0; i < run->peers->len; i++)
        {
          Peer *peer = &g_array_index (run->peers, Peer, i);

          if (tandem_note_get_n_pending (peer->note) > 0)
            {
              g_string_append_printf (run->failure, "step final at %s: %u runs still wait for parents",
                                      peer->name, tandem_note_get_n_pending (peer->note));
              return FALSE;
            }
          if (!check_expect (run, "final", peer, expect))
            return FALSE;
        }
    }
  return TRUE;
}

/* ---- the file's shape, checked before any step runs ---------------- */

static gboolean
is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
is_strings (JsonNode *node)
{
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
    if (!is_string (json_array_get_element (json_node_get_array (node), i)))
      return FALSE;
  return TRUE;
}

/* Whether every member of @object listed in @names (a NULL-terminated
 * list) is absent or passes @is; names the first that fails. */
static gboolean
members_are (JsonObject          *object,
             const char * const  *names,
             gboolean           (*is) (JsonNode *node),
             const char         **bad)
{
  for (guint i = 0; names[i] != NULL; i++)
    {
      JsonNode *node = json_object_get_member (object, names[i]);

      if (node != NULL && !is (node))
        {
          *bad = names[i];
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
is_int (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
}

static gboolean
is_object (JsonNode *node)
{
  return JSON_NODE_HOLDS_OBJECT (node);
}

/* an object whose every member passes @is */
static gboolean
is_object_of (JsonNode  *node,
              gboolean (*is) (JsonNode *node))
{
  JsonObjectIter iter;
  JsonNode *member;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, NULL, &member))
    if (!is (member))
      return FALSE;
  return TRUE;
}

/* an object of objects, as "fields" of an expectation */
static gboolean
is_reads (JsonNode *node)
{
  return is_object_of (node, is_object);
}

/* an object of strings, as "fields" of a scenario */
static gboolean
is_policies (JsonNode *node)
{
  return is_object_of (node, is_string);
}

static gboolean
is_expectation (JsonNode *node)
{
  const char *bad;

  return JSON_NODE_HOLDS_OBJECT (node) &&
         members_are (json_node_get_object (node), (const char *[]) { "text", NULL }, is_string, &bad) &&
         members_are (json_node_get_object (node), (const char *[]) { "pending", NULL }, is_strings, &bad) &&
         members_are (json_node_get_object (node), (const char *[]) { "fields", NULL }, is_reads, &bad);
}

/* Every member the runner reads has the type it reads, so a damaged file
 * is refused with a reason rather than half run. */
static gboolean
check_shape (JsonObject  *root,
             GError     **error)
{
  static const char *const step_strings[] = { "at", "do", "name", "text", "field", "elem", "with", NULL };
  static const char *const step_ints[] = { "pos", "len", NULL };
  JsonNode *steps = json_object_get_member (root, "steps");
  const char *bad = NULL;

  if (!members_are (root, (const char *[]) { "name", "initial", NULL }, is_string, &bad) ||
      !members_are (root, (const char *[]) { "peers", NULL }, is_strings, &bad) ||
      !members_are (root, (const char *[]) { "fields", NULL }, is_policies, &bad) ||
      !members_are (root, (const char *[]) { "expect", NULL }, is_expectation, &bad))
    return refuse (error, "“%s” has the wrong type", bad);
  if (steps == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (steps))
    return refuse (error, "“steps” is not a list");
  for (guint i = 0; i < json_array_get_length (json_node_get_array (steps)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (steps), i);
      JsonObject *step = is_object (node) ? json_node_get_object (node) : NULL;

      if (step == NULL)
        return refuse (error, "step %u is not an object", i + 1);
      if (!members_are (step, step_strings, is_string, &bad) ||
          !members_are (step, step_ints, is_int, &bad) ||
          !members_are (step, (const char *[]) { "ops", NULL }, is_strings, &bad) ||
          !members_are (step, (const char *[]) { "expect", NULL }, is_expectation, &bad))
        return refuse (error, "step %u: “%s” has the wrong type", i + 1, bad);
    }
  return TRUE;
}

gboolean
tandem_scenario_run_file (const char *path,
                          guint       shuffle,
                          guint64     seed,
                          GString    *out)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  const char *problem = NULL;
  JsonNode *root;
  const char *name;
  gboolean ok = TRUE;

  /* strictly one JSON document: json-glib takes more than one, and leaks
   * the first when a second one is broken */
  if (g_file_get_contents (path, &contents, &length, &error) &&
      (problem = tandem_json_check (contents, (gssize) length, 64)) != NULL)
    {
      g_string_append_printf (out, "FAIL %s: cannot read: not JSON: %s\n", path, problem);
      return FALSE;
    }
  if (error != NULL || !json_parser_load_from_data (parser, contents, (gssize) length, &error))
    {
      /* json-glib quotes the bad bytes, which need not be UTF-8 */
      g_autofree char *message = g_utf8_make_valid (error->message, -1);

      g_string_append_printf (out, "FAIL %s: cannot read: %s\n", path, message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_string_append_printf (out, "FAIL %s: refused: not a JSON object\n", path);
      return FALSE;
    }
  if (!check_shape (json_node_get_object (root), &error))
    {
      g_string_append_printf (out, "FAIL %s: refused: %s\n", path, error->message);
      return FALSE;
    }
  name = json_object_get_string_member_with_default (json_node_get_object (root), "name", path);

  for (guint i = 0; i <= shuffle && ok; i++)
    {
      Run run = { 0 };

      run.scenario_name = name;
      run.root = json_node_get_object (root);
      run.peers = g_array_new (FALSE, TRUE, sizeof (Peer));
      g_array_set_clear_func (run.peers, peer_clear);
      run.policies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      run.ops = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
      run.failure = g_string_new (NULL);
      if (i > 0)
        run.rand = g_rand_new_with_seed_array ((guint32[]) { (guint32) (seed + i - 1), (guint32) ((seed + i - 1) >> 32) }, 2);

      if (!run_once (&run))
        {
          ok = FALSE;
          if (i == 0)
            g_string_append_printf (out, "FAIL %s: %s\n", name, run.failure->str);
          else
            g_string_append_printf (out, "FAIL %s: %s (shuffle seed %" G_GUINT64_FORMAT "; replay with --shuffle 1 --seed %" G_GUINT64_FORMAT ")\n",
                                    name, run.failure->str, seed + i - 1, seed + i - 1);
        }

      g_array_unref (run.peers);
      g_hash_table_unref (run.policies);
      g_hash_table_unref (run.ops);
      g_string_free (run.failure, TRUE);
      g_clear_pointer (&run.rand, g_rand_free);
    }
  if (ok)
    g_string_append_printf (out, "ok %s\n", name);
  return ok;
}

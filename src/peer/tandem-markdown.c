/* tandem-markdown.c: notes as Markdown files with front matter
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A note exports as its text after a front matter block of its fields:
 *
 *   ---
 *   title: "Plan"
 *   tags: ["home", "work"]
 *   pinned: true
 *   tandem-id: "c1ef…"
 *   ---
 *   the text
 *
 * Values are written as JSON, which YAML reads too, so any title survives
 * the trip. Importing reads the same block (a value that is not JSON is
 * taken as a string), turns CRLF into LF (and CRCRLF, which a doubled
 * conversion leaves), and refuses text that is not
 * UTF-8 or holds a NUL, saying where.
 */
#include "tandem-markdown.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "tandem-engine-error.h"
#include "tandem-event-codec.h"

static void
append_value (GString  *out,
              const char *key,
              JsonNode *value)
{
  g_autofree char *json = tandem_json_to_string (value, NULL);

  g_string_append_printf (out, "%s: %s\n", key, json);
}

static JsonNode *
variant_to_node (GVariant *v)
{
  JsonNode *node = json_node_alloc ();

  if (g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
    return json_node_init_string (node, g_variant_get_string (v, NULL));
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT64))
    return json_node_init_int (node, g_variant_get_int64 (v));
  return json_node_init_boolean (node, g_variant_get_boolean (v));
}

/**
 * tandem_markdown_from_note:
 * @note_id: (nullable): written as `tandem-id`, so an import can tell
 *
 * Returns: (transfer full): the note as Markdown
 */
char *
tandem_markdown_from_note (TandemNote *note,
                           const char *note_id)
{
  GString *out = g_string_new ("---\n");
  g_autoptr(GPtrArray) names = tandem_field_table_dup_names (tandem_note_get_fields (note));
  g_autofree char *text = tandem_note_dup_text (note);

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);

      if (tandem_note_get_field_policy (note, name) == TANDEM_FIELD_POLICY_SET)
        {
          g_autoptr(GPtrArray) elems = tandem_note_dup_set (note, name);
          g_autoptr(JsonArray) array = json_array_new ();
          g_autoptr(JsonNode) node = NULL;

          for (guint k = 0; k < elems->len; k++)
            json_array_add_string_element (array, g_ptr_array_index (elems, k));
          node = json_node_init_array (json_node_alloc (), array);
          append_value (out, name, node);
        }
      else
        {
          /* a conflict exports the value lww would show */
          g_autoptr(GVariant) value = tandem_note_dup_field (note, name);
          g_autoptr(JsonNode) node = NULL;

          if (value == NULL)
            continue;
          node = variant_to_node (value);
          append_value (out, name, node);
        }
    }
  if (note_id != NULL)
    {
      g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), note_id);

      append_value (out, "tandem-id", node);
    }
  g_string_append (out, "---\n");
  g_string_append (out, text);
  return g_string_free (out, FALSE);
}

/**
 * tandem_markdown_file_name:
 *
 * Returns: (transfer full): a file name for the note: its title made safe,
 *   or its id, with `.md`
 */
char *
tandem_markdown_file_name (TandemNote *note,
                           const char *note_id)
{
  g_autoptr(GVariant) title = tandem_note_dup_field (note, "title");
  GString *name = g_string_new (NULL);

  if (title != NULL && g_variant_is_of_type (title, G_VARIANT_TYPE_STRING))
    for (const char *c = g_variant_get_string (title, NULL); *c && name->len < 80; c = g_utf8_next_char (c))
      {
        gunichar u = g_utf8_get_char (c);

        /* no separators, no control characters, no leading dot */
        if (u == '/' || u == '\\' || u < 0x20 || (u == '.' && name->len == 0))
          g_string_append_c (name, '_');
        else
          g_string_append_unichar (name, u);
      }
  if (name->len == 0)
    g_string_append (name, note_id ? note_id : "note");
  g_string_append (name, ".md");
  return g_string_free (name, FALSE);
}

static gboolean
set_field (TandemNote  *note,
           const char  *key,
           const char  *raw,
           GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root = NULL;

  /* only strict JSON: json-glib takes two values in a row, and leaks the
   * first when the second is broken */
  if (tandem_json_check (raw, -1, 16) == NULL && json_parser_load_from_data (parser, raw, -1, NULL))
    root = json_parser_get_root (parser);

  if (tandem_note_get_field_policy (note, key) == TANDEM_FIELD_POLICY_SET)
    {
      if (root != NULL && JSON_NODE_HOLDS_ARRAY (root))
        {
          JsonArray *array = json_node_get_array (root);

          for (guint i = 0; i < json_array_get_length (array); i++)
            {
              JsonNode *node = json_array_get_element (array, i);
              const char *elem;
              g_autoptr(TandemEvent) e = NULL;

              /* a set holds strings: nested lists, numbers and the like
               * are left out (json_array_get_string_element() would
               * complain about a nested list) */
              if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
                continue;
              elem = json_node_get_string (node);
              if (!(e = tandem_note_add_to_set (note, key, elem, error)))
                return FALSE;
            }
          return TRUE;
        }
      else
        {
          g_autoptr(TandemEvent) e = tandem_note_add_to_set (note, key, raw, error);
          return e != NULL;
        }
    }
  else
    {
      GVariant *value;
      g_autoptr(TandemEvent) e = NULL;

      if (root != NULL && JSON_NODE_HOLDS_VALUE (root) && json_node_get_value_type (root) == G_TYPE_INT64)
        value = g_variant_new_int64 (json_node_get_int (root));
      else if (root != NULL && JSON_NODE_HOLDS_VALUE (root) && json_node_get_value_type (root) == G_TYPE_BOOLEAN)
        value = g_variant_new_boolean (json_node_get_boolean (root));
      else if (root != NULL && JSON_NODE_HOLDS_VALUE (root) && json_node_get_value_type (root) == G_TYPE_STRING)
        value = g_variant_new_string (json_node_get_string (root));
      else
        value = g_variant_new_string (raw);
      e = tandem_note_set_field (note, key, value, error);
      return e != NULL;
    }
}

/**
 * tandem_markdown_to_note:
 * @note: an empty note, its field policies set
 *
 * Fills @note from a Markdown file. On error @note may hold part of it and
 * should be dropped.
 *
 * Returns: %TRUE on success
 */
gboolean
tandem_markdown_to_note (TandemNote  *note,
                         const char  *markdown,
                         gssize       length,
                         GError     **error)
{
  gsize n = length < 0 ? strlen (markdown) : (gsize) length;
  const char *bad;
  g_autoptr(GString) text = g_string_sized_new (n);
  const char *body = markdown, *end = markdown + n;

  if (memchr (markdown, '\0', n) != NULL)
    {
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                   "The file holds a NUL character at byte %ld",
                   (long) ((const char *) memchr (markdown, '\0', n) - markdown));
      return FALSE;
    }
  if (!g_utf8_validate_len (markdown, n, &bad))
    {
      g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_INVALID_EVENT,
                   "The file is not UTF-8 at byte %ld", (long) (bad - markdown));
      return FALSE;
    }

  /* front matter */
  /* @markdown need not end in a NUL: nothing may read past @n */
  if ((n >= 4 && memcmp (markdown, "---\n", 4) == 0) || (n >= 5 && memcmp (markdown, "---\r\n", 5) == 0))
    {
      const char *line = (const char *) memchr (markdown, '\n', n) + 1;
      g_autoptr(GPtrArray) pairs = g_ptr_array_new_with_free_func (g_free);

      while (line < end)
        {
          const char *eol = memchr (line, '\n', end - line);
          g_autofree char *l = g_strndup (line, (eol ? eol : end) - line);
          char *colon;

          g_strchomp (l);
          line = eol ? eol + 1 : end;
          if (g_str_equal (l, "---"))
            {
              body = line;
              for (guint i = 0; i + 1 < pairs->len; i += 2)
                if (!set_field (note, pairs->pdata[i], pairs->pdata[i + 1], error))
                  return FALSE;
              break;
            }
          colon = strchr (l, ':');
          if (colon == NULL || colon == l)
            continue;
          *colon = '\0';
          if (g_str_equal (g_strstrip (l), "tandem-id"))
            continue;
          g_ptr_array_add (pairs, g_strdup (l));
          g_ptr_array_add (pairs, g_strstrip (g_strdup (colon + 1)));
        }
    }

  /* every CR before a line end goes, however many ("\r\r\n" from a
   * doubled conversion too), so the text holds no CRLF and a second
   * import of its export takes nothing more away */
  for (const char *c = body; c < end; c++)
    {
      const char *after_crs = c;

      while (after_crs < end && *after_crs == '\r')
        after_crs++;
      if (after_crs > c && after_crs < end && *after_crs == '\n')
        c = after_crs;
      g_string_append_c (text, *c);
    }
  if (text->len > 0)
    {
      g_autoptr(TandemEvent) e = tandem_note_insert (note, tandem_note_get_length (note), text->str, error);

      if (e == NULL)
        return FALSE;
    }
  return TRUE;
}

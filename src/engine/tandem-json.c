/* tandem-json.c: JSON as peers must write and read it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * json-glib builds and walks the trees; these are the places where it is
 * too lenient or writes what strict readers refuse. Everything read from a
 * peer, a file or a user goes through tandem_json_check() first, and
 * everything written goes out through tandem_json_to_string().
 */
#include "tandem-json.h"

#include <math.h>
#include <string.h>

static void
write_string (GString    *out,
              const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if ((guchar) *p < 0x20)
            g_string_append_printf (out, "\\u%04x", (guint) (guchar) *p);
          else
            g_string_append_c (out, *p);
        }
    }
  g_string_append_c (out, '"');
}

/* The shortest text that reads back as the same double, with a ".0" when
 * it would otherwise read back as an integer. (json-glib 1.6 writes 17
 * digits and appends ".0" even after an exponent: "1e+21.0".) */
static void
write_double (GString *out,
              double   value)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    {
      /* tandem_json_check() refuses what would read as one, so only a
       * node built by our own code can hold it */
      g_critical ("JSON has no infinity or NaN; writing null");
      g_string_append (out, "null");
      return;
    }
  /* 17 significant digits always read back the same */
  for (int digits = 1; digits <= 17; digits++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", digits);
      g_ascii_formatd (text, sizeof text, format, value);
      if (g_ascii_strtod (text, NULL) == value)
        break;
    }
  g_string_append (out, text);
  if (strpbrk (text, ".eE") == NULL)
    g_string_append (out, ".0");
}

static void
write_node (GString  *out,
            JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;
        gboolean first = TRUE;

        g_string_append_c (out, '{');
        json_object_iter_init_ordered (&iter, json_node_get_object (node));
        while (json_object_iter_next_ordered (&iter, &name, &member))
          {
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            write_string (out, name);
            g_string_append_c (out, ':');
            write_node (out, member);
          }
        g_string_append_c (out, '}');
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        g_string_append_c (out, '[');
        for (guint i = 0; i < json_array_get_length (array); i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            write_node (out, json_array_get_element (array, i));
          }
        g_string_append_c (out, ']');
        break;
      }
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
          break;
        case G_TYPE_DOUBLE:
          write_double (out, json_node_get_double (node));
          break;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          break;
        case G_TYPE_STRING:
          write_string (out, json_node_get_string (node));
          break;
        default:
          g_assert_not_reached ();
        }
      break;
    case JSON_NODE_NULL:
      g_string_append (out, "null");
      break;
    default:
      g_assert_not_reached ();
    }
}

/**
 * tandem_json_to_string:
 * @node: a JSON tree
 * @length: (out) (optional): its length in bytes
 *
 * Writes @node as compact JSON that strict readers take, tandem_json_check()
 * and other peers first. json-glib's own writer does not: 1.6 leaves U+001F
 * unescaped in strings, which RFC 8259 forbids, and writes 1e21 as
 * "1e+21.0".
 *
 * Returns: (transfer full): the JSON text
 */
char *
tandem_json_to_string (JsonNode *node,
                       gsize    *length)
{
  GString *out = g_string_sized_new (256);

  write_node (out, node);
  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}

/**
 * tandem_json_has_nul:
 * @json: JSON text
 * @length: its length in bytes, or -1 when nul-terminated
 *
 * json-glib cuts strings at a "\u0000" escape, so a parsed event cannot show
 * that its text held a NUL. Input from peers is checked here first.
 *
 * Returns: %TRUE if a string in @json holds a NUL
 */
gboolean
tandem_json_has_nul (const char *json,
                     gssize      length)
{
  gsize n = length < 0 ? strlen (json) : (gsize) length;
  gboolean in_string = FALSE;

  if (memchr (json, '\0', n) != NULL)
    return TRUE;
  for (gsize i = 0; i < n; i++)
    {
      if (json[i] == '"')
        in_string = !in_string;
      else if (in_string && json[i] == '\\' && i + 1 < n)
        {
          if (json[i + 1] == 'u' && i + 5 < n && strncmp (json + i + 2, "0000", 4) == 0)
            return TRUE;
          i++;   /* skip the escaped character, which may be a quote */
        }
    }
  return FALSE;
}

/* ---- a strict reader of JSON's grammar (RFC 8259) ----
 *
 * json-glib is lenient: it takes single quotes, two documents in a row and
 * more. Input from peers must be exactly JSON, so it is read once here by
 * this small recursive-descent checker (depth-limited, so it cannot blow
 * the stack either) before json-glib builds anything from it. */

typedef struct
{
  const char *p;
  const char *end;
  guint depth;
  guint max_depth;
  const char *problem;
} JsonCheck;

static void
skip_space (JsonCheck *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static gboolean check_value (JsonCheck *c);

static gboolean
check_literal (JsonCheck  *c,
               const char *word)
{
  gsize n = strlen (word);

  if ((gsize) (c->end - c->p) < n || memcmp (c->p, word, n) != 0)
    {
      c->problem = "not a JSON value";
      return FALSE;
    }
  c->p += n;
  return TRUE;
}

/* The UTF-16 unit of the four hex digits at @hex (four bytes that can be
 * read), or G_MAXUINT32 when they are not four hex digits. */
static gunichar
escaped_unit (const char *hex)
{
  gunichar unit = 0;

  for (int i = 0; i < 4; i++)
    {
      if (!g_ascii_isxdigit (hex[i]))
        return G_MAXUINT32;
      unit = (unit << 4) | (gunichar) g_ascii_xdigit_value (hex[i]);
    }
  return unit;
}

static gboolean
check_string (JsonCheck *c)
{
  c->p++;   /* the opening quote */
  while (c->p < c->end)
    {
      guchar ch = (guchar) *c->p;

      if (ch == '"')
        {
          c->p++;
          return TRUE;
        }
      if (ch < 0x20)
        {
          c->problem = "a control character in a string";
          return FALSE;
        }
      if (ch == '\\')
        {
          c->p++;
          if (c->p >= c->end)
            break;
          if (*c->p == 'u')
            {
              gunichar unit = c->end - c->p >= 5 ? escaped_unit (c->p + 1) : G_MAXUINT32;

              if (unit == G_MAXUINT32)
                {
                  c->problem = "a bad \\u escape";
                  return FALSE;
                }
              if (unit == 0)
                {
                  c->problem = "a NUL character in a string";
                  return FALSE;
                }
              /* UTF-16 surrogates come in pairs, high then low; json-glib
               * refuses one alone, so the check does too */
              if (unit >= 0xd800 && unit <= 0xdfff)
                {
                  gunichar low = c->end - c->p >= 11 && c->p[5] == '\\' && c->p[6] == 'u'
                                 ? escaped_unit (c->p + 7) : G_MAXUINT32;

                  if (unit >= 0xdc00 || low < 0xdc00 || low > 0xdfff)
                    {
                      c->problem = "a lone UTF-16 surrogate in a \\u escape";
                      return FALSE;
                    }
                  c->p += 6;
                }
              c->p += 5;
              continue;
            }
          if (strchr ("\"\\/bfnrt", *c->p) == NULL || *c->p == '\0')
            {
              c->problem = "a bad escape in a string";
              return FALSE;
            }
        }
      c->p++;
    }
  c->problem = "an unterminated string";
  return FALSE;
}

/* json-glib reads an integer that does not fit 64 bits as another one
 * (99999999999999999999 as -1) and a number past a double's range as
 * infinity, which JSON cannot write again; the grammar alone lets both
 * through. @text is a number the grammar took, not nul-terminated. */
static gboolean
number_fits (const char *text,
             gsize       length,
             gboolean    integer)
{
  char stack_copy[64];
  g_autofree char *heap_copy = NULL;
  char *copy;
  gint64 ignored;

  /* the common case, without copying: up to 18 digits always fit, and a
   * number with no exponent needs over 300 digits to overflow a double */
  if (integer ? length < 19 : length < 300 && memchr (text, 'e', length) == NULL &&
                              memchr (text, 'E', length) == NULL)
    return TRUE;
  copy = length < sizeof stack_copy ? stack_copy : (heap_copy = g_malloc (length + 1));
  memcpy (copy, text, length);
  copy[length] = '\0';
  if (integer)
    return g_ascii_string_to_signed (copy, 10, G_MININT64, G_MAXINT64, &ignored, NULL);
  return isfinite (g_ascii_strtod (copy, NULL));
}

static gboolean
check_number (JsonCheck *c)
{
  const char *start = c->p;
  gboolean integer = TRUE;

  if (c->p < c->end && *c->p == '-')
    c->p++;
  if (c->p < c->end && *c->p == '0')
    c->p++;
  else if (c->p < c->end && g_ascii_isdigit (*c->p))
    while (c->p < c->end && g_ascii_isdigit (*c->p))
      c->p++;
  else
    goto bad;
  if (c->p < c->end && *c->p == '.')
    {
      integer = FALSE;
      c->p++;
      if (c->p >= c->end || !g_ascii_isdigit (*c->p))
        goto bad;
      while (c->p < c->end && g_ascii_isdigit (*c->p))
        c->p++;
    }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E'))
    {
      integer = FALSE;
      c->p++;
      if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
        c->p++;
      if (c->p >= c->end || !g_ascii_isdigit (*c->p))
        goto bad;
      while (c->p < c->end && g_ascii_isdigit (*c->p))
        c->p++;
    }
  if (!number_fits (start, (gsize) (c->p - start), integer))
    {
      c->problem = integer ? "an integer beyond 64 bits" : "a number beyond a double's range";
      return FALSE;
    }
  return TRUE;

bad:
  c->problem = "a malformed number";
  return FALSE;
}

static gboolean
check_container (JsonCheck *c,
                 char       close)
{
  gboolean object = close == '}';

  if (++c->depth > c->max_depth)
    {
      c->problem = "arrays and objects nested too deep";
      return FALSE;
    }
  c->p++;
  skip_space (c);
  if (c->p < c->end && *c->p == close)
    {
      c->p++;
      c->depth--;
      return TRUE;
    }
  for (;;)
    {
      skip_space (c);
      if (object)
        {
          if (c->p >= c->end || *c->p != '"')
            {
              c->problem = "an object member needs a quoted name";
              return FALSE;
            }
          if (!check_string (c))
            return FALSE;
          skip_space (c);
          if (c->p >= c->end || *c->p != ':')
            {
              c->problem = "a ':' is missing after a member name";
              return FALSE;
            }
          c->p++;
        }
      if (!check_value (c))
        return FALSE;
      skip_space (c);
      if (c->p < c->end && *c->p == ',')
        {
          c->p++;
          continue;
        }
      if (c->p < c->end && *c->p == close)
        {
          c->p++;
          c->depth--;
          return TRUE;
        }
      c->problem = object ? "a ',' or '}' is missing" : "a ',' or ']' is missing";
      return FALSE;
    }
}

static gboolean
check_value (JsonCheck *c)
{
  skip_space (c);
  if (c->p >= c->end)
    {
      c->problem = "it ends where a value should be";
      return FALSE;
    }
  switch (*c->p)
    {
    case '{': return check_container (c, '}');
    case '[': return check_container (c, ']');
    case '"': return check_string (c);
    case 't': return check_literal (c, "true");
    case 'f': return check_literal (c, "false");
    case 'n': return check_literal (c, "null");
    case '-': return check_number (c);
    default:
      if (g_ascii_isdigit (*c->p))
        return check_number (c);
      c->problem = "not a JSON value";
      return FALSE;
    }
}

/**
 * tandem_json_check:
 * @json: text that should be one JSON document
 * @length: its length in bytes, or -1 when nul-terminated
 * @max_depth: how many arrays and objects may nest
 *
 * Checks @json against JSON's grammar, strictly: one value, nothing after
 * it but white space, no NUL (raw or escaped), nesting no deeper than
 * @max_depth, and no number json-glib would read as another (an integer
 * beyond 64 bits, a number beyond a double's range). It does not check
 * UTF-8.
 *
 * Returns: %NULL when @json is fine, else what is wrong with it (a
 *   static string)
 */
const char *
tandem_json_check (const char *json,
                   gssize      length,
                   guint       max_depth)
{
  JsonCheck c = { json, json + (length < 0 ? strlen (json) : (gsize) length), 0, max_depth, NULL };

  if (memchr (json, '\0', c.end - c.p) != NULL)
    return "a NUL byte";
  if (!check_value (&c))
    return c.problem ? c.problem : "not JSON";
  skip_space (&c);
  if (c.p != c.end)
    return "something follows the JSON value";
  return NULL;
}

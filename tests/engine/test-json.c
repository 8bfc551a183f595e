/* test-json.c: the strict JSON check and the writer peers use
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include "tandem-json.h"

/* @json passes the check, json-glib reads it, and what the writer makes of
 * that tree passes the check and reads back as the same tree. Returns the
 * written text. */
static char *
assert_round_trip (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(JsonParser) again = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;
  const char *problem;
  char *written;
  gsize length = 0;

  g_test_message ("round trip of %s", json);
  problem = tandem_json_check (json, -1, 8);
  if (problem != NULL)
    g_error ("%s was refused: %s", json, problem);
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);

  written = tandem_json_to_string (json_parser_get_root (parser), &length);
  g_assert_cmpuint (length, ==, strlen (written));
  problem = tandem_json_check (written, -1, 8);
  if (problem != NULL)
    g_error ("%s was written as %s, which is refused: %s", json, written, problem);
  g_assert_true (json_parser_load_from_data (again, written, -1, &error));
  g_assert_no_error (error);
  if (!json_node_equal (json_parser_get_root (parser), json_parser_get_root (again)))
    g_error ("%s was written as %s, which reads as another value", json, written);
  return written;
}

static void
assert_written_as (const char *json,
                   const char *expected)
{
  g_autofree char *written = assert_round_trip (json);

  g_assert_cmpstr (written, ==, expected);
}

static void
assert_refused (const char *json,
                const char *fragment)
{
  const char *problem = tandem_json_check (json, -1, 8);

  if (problem == NULL)
    g_error ("%s was taken", json);
  if (strstr (problem, fragment) == NULL)
    g_error ("%s was refused for “%s”, which does not mention “%s”", json, problem, fragment);
}

static void
test_write_compact (void)
{
  assert_written_as ("{ \"b\" : [1, 2, {}], \"a\" : [ ], \"c\": null, \"d\": true, \"e\": false }",
                     "{\"b\":[1,2,{}],\"a\":[],\"c\":null,\"d\":true,\"e\":false}");
  assert_written_as ("[]", "[]");
  assert_written_as ("\"just a string\"", "\"just a string\"");
  assert_written_as ("-9223372036854775808", "-9223372036854775808");
  assert_written_as ("9223372036854775807", "9223372036854775807");
}

/* RFC 8259 wants every character below U+0020 escaped; json-glib 1.6 left
 * U+001F as it was. Everything else goes out as the UTF-8 it is. */
static void
test_write_strings (void)
{
  assert_written_as ("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\"\\\" \\\\ / \\b \\f \\n \\r \\t\"");
  assert_written_as ("\"\\u0001 \\u001f \\u001F\"", "\"\\u0001 \\u001f \\u001f\"");
  assert_written_as ("\"wörk ✓ \\u2028 \\ud83d\\ude00 \x7f\"", "\"wörk ✓ \xe2\x80\xa8 😀 \x7f\"");
  assert_written_as ("{\"a\\nb\":1}", "{\"a\\nb\":1}");
}

/* A double is written as the shortest text that reads back as it, and
 * stays a double: json-glib 1.6 wrote 1e21 as "1e+21.0", which no reader
 * takes, and 0.1 as 0.10000000000000001. */
static void
test_write_doubles (void)
{
  assert_written_as ("[1e21, 1E-7, 0.1, 1.0, 2.5, -0.0, 0.0]", "[1e+21,1e-07,0.1,1.0,2.5,-0.0,0.0]");
  assert_written_as ("1.7976931348623157e308", "1.7976931348623157e+308");
  assert_written_as ("4.9406564584124654e-324", "5e-324");
  assert_written_as ("123456789012345678901234567890.5", "1.2345678901234568e+29");
  assert_written_as ("1e-400", "0.0");   /* underflow reads as zero, as everywhere */
  g_free (assert_round_trip ("[0.30000000000000004, 3.141592653589793, -1.5e-300, 1e300]"));
}

/* json-glib reads 99999999999999999999 as -1 and 1e400 as infinity: the
 * check refuses both rather than let a number turn into another. */
static void
test_check_number_ranges (void)
{
  g_autoptr(GString) long_integer = g_string_new ("1");
  g_autoptr(GString) long_fraction = g_string_new ("0.");

  assert_refused ("9223372036854775808", "beyond 64 bits");
  assert_refused ("-9223372036854775809", "beyond 64 bits");
  assert_refused ("[1, 99999999999999999999]", "beyond 64 bits");
  assert_refused ("{\"s\":18446744073709551617}", "beyond 64 bits");
  assert_refused ("1e309", "beyond a double's range");
  assert_refused ("-1.8e308", "beyond a double's range");
  assert_refused ("[1e99999999999999999999]", "beyond a double's range");

  for (guint i = 0; i < 400; i++)
    {
      g_string_append_c (long_integer, '0');
      g_string_append_c (long_fraction, '0');
    }
  g_string_append_c (long_fraction, '1');
  assert_refused (long_integer->str, "beyond 64 bits");
  g_string_append (long_integer, ".5");
  assert_refused (long_integer->str, "beyond a double's range");
  g_free (assert_round_trip (long_fraction->str));
  g_free (assert_round_trip ("[0e99999, 1e-99999, -9223372036854775808]"));
}

static void
test_check_grammar (void)
{
  const struct { const char *json; const char *fragment; } cases[] = {
    { "", "ends where a value" },
    { "{\"a\":1} {}", "follows" },
    { "{'a':1}", "quoted name" },
    { "[1,]", "not a JSON value" },
    { "[1 2]", "',' or ']'" },
    { "01", "follows" },
    { "1.", "malformed number" },
    { "-", "malformed number" },
    { "+1", "not a JSON value" },
    { "1e", "malformed number" },
    { "NaN", "not a JSON value" },
    { "Infinity", "not a JSON value" },
    { "\"a\tb\"", "control character" },
    { "\"\\x41\"", "bad escape" },
    { "\"\\u00zz\"", "\\u escape" },
    { "\"\\u0000\"", "NUL" },
    { "\"\\udc00\"", "lone UTF-16 surrogate" },
    { "\"\\ud800\"", "lone UTF-16 surrogate" },
    { "\"\\ud800x\"", "lone UTF-16 surrogate" },
    { "\"\\ud800\\u0041\"", "lone UTF-16 surrogate" },
    { "\"\\ud800\\ud800\"", "lone UTF-16 surrogate" },
    { "\"abc", "unterminated" },
    { "[[[[[[[[[1]]]]]]]]]", "nested too deep" },
    { "tru", "not a JSON value" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_refused (cases[i].json, cases[i].fragment);
  g_assert_nonnull (tandem_json_check ("[1]\0", 4, 8));   /* a raw NUL */
  g_assert_null (tandem_json_check ("[[[[[[[[1]]]]]]]]", -1, 8));
  g_assert_null (tandem_json_check (" \t\r\n[1] \n", -1, 8));
}

/* Building a double that is not finite is our own bug: it is reported,
 * and the text stays JSON. */
static void
test_write_not_finite (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(JsonNode) node = json_node_init_double (json_node_alloc (), INFINITY);
      g_autofree char *written = tandem_json_to_string (node, NULL);

      g_assert_cmpstr (written, ==, "null");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*no infinity or NaN*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/json/write/compact", test_write_compact);
  g_test_add_func ("/engine/json/write/strings", test_write_strings);
  g_test_add_func ("/engine/json/write/doubles", test_write_doubles);
  g_test_add_func ("/engine/json/write/not-finite", test_write_not_finite);
  g_test_add_func ("/engine/json/check/number-ranges", test_check_number_ranges);
  g_test_add_func ("/engine/json/check/grammar", test_check_grammar);

  return g_test_run ();
}

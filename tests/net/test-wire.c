/* test-wire.c: the shape checks of the wire messages, and a fuzz loop
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "tandem-wire.h"

static const char *peer = "00112233445566ff";
static const char *id32 = "00112233445566778899aabbccddeeff";
static const char *hex64 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/* One well-formed message of every type, as a peer sends them. */
static GPtrArray *
valid_messages (void)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (out, g_strdup_printf ("{\"type\":\"hello\",\"proto\":1,\"peer\":\"%s\",\"name\":\"Ann\","
                                         "\"colour\":\"#3584e4\",\"nonce\":\"%s\"}", peer, hex64));
  g_ptr_array_add (out, g_strdup_printf ("{\"type\":\"auth\",\"tag\":\"%s\",\"proof\":\"%s\"}", peer, hex64));
  g_ptr_array_add (out, g_strdup_printf ("{\"type\":\"notebook\",\"notebook\":\"%s\",\"name\":\"Team\","
                                         "\"members\":[{\"peer\":\"%s\",\"name\":\"Ann\",\"fingerprint\":\"%s\"}]}",
                                         id32, peer, hex64));
  g_ptr_array_add (out, g_strdup_printf ("{\"type\":\"have\",\"notebook\":\"%s\",\"full\":true,"
                                         "\"notes\":{\"%s\":{\"%s\":3}}}", id32, id32, peer));
  g_ptr_array_add (out, g_strdup_printf ("{\"type\":\"events\",\"notebook\":\"%s\",\"note\":\"%s\","
                                         "\"runs\":[{\"id\":[\"%s\",0],\"parents\":[],\"ins\":0,\"text\":\"hi\"}]}",
                                         id32, id32, peer));
  g_ptr_array_add (out, g_strdup_printf ("{\"type\":\"want\",\"notebook\":\"%s\",\"note\":\"%s\",\"version\":{}}",
                                         id32, id32));
  g_ptr_array_add (out, g_strdup_printf ("{\"type\":\"check\",\"notebook\":\"%s\",\"note\":\"%s\","
                                         "\"version\":{},\"sum\":\"%s\"}", id32, id32, hex64));
  g_ptr_array_add (out, g_strdup_printf ("{\"type\":\"presence\",\"state\":\"online\",\"notebook\":\"%s\","
                                         "\"note\":\"%s\",\"pos\":3,\"anchor\":1,\"version\":{}}", id32, id32));
  g_ptr_array_add (out, g_strdup_printf ("{\"type\":\"rekey\",\"notebook\":\"%s\",\"key\":\"%s\",\"removed\":[]}",
                                         id32, hex64));
  g_ptr_array_add (out, g_strdup_printf ("{\"type\":\"neighbors\",\"notebook\":\"%s\",\"peers\":[\"%s\"]}",
                                         id32, peer));
  g_ptr_array_add (out, g_strdup ("{\"type\":\"ping\"}"));
  g_ptr_array_add (out, g_strdup ("{\"type\":\"error\",\"reason\":\"no\"}"));
  return out;
}

static void
test_valid (void)
{
  g_autoptr(GPtrArray) messages = valid_messages ();

  g_assert_cmpuint (messages->len, ==, TANDEM_WIRE_N_TYPES);
  for (guint i = 0; i < messages->len; i++)
    {
      const char *text = g_ptr_array_index (messages, i);
      g_autoptr(GError) error = NULL;
      TandemWireType type = TANDEM_WIRE_N_TYPES;
      g_autoptr(JsonObject) msg = tandem_wire_parse (text, strlen (text), &type, &error);

      g_assert_no_error (error);
      g_assert_nonnull (msg);
      g_assert_cmpint (type, ==, (TandemWireType) i);
      g_assert_cmpstr (json_object_get_string_member (msg, "type"), ==, tandem_wire_type_name (type));
    }
}

static void
assert_refused (const char      *text,
                gssize           len,
                TandemWireError  code,
                const char      *why)
{
  g_autoptr(GError) error = NULL;
  TandemWireType type;
  g_autoptr(JsonObject) msg = tandem_wire_parse (text, len < 0 ? strlen (text) : (gsize) len, &type, &error);

  g_assert_null (msg);
  g_assert_error (error, TANDEM_WIRE_ERROR, (gint) code);
  if (strstr (error->message, why) == NULL)
    g_error ("\"%s\" was refused with \"%s\", not about \"%s\"", text, error->message, why);
}

static void
test_refused (void)
{
  g_autofree char *deep = NULL;
  g_autofree char *long_name = NULL;
  GString *s;

  assert_refused ("{", -1, TANDEM_WIRE_ERROR_MALFORMED, "JSON");
  assert_refused ("[1]", -1, TANDEM_WIRE_ERROR_MALFORMED, "object");
  assert_refused ("{\"proto\":1}", -1, TANDEM_WIRE_ERROR_MALFORMED, "type");
  assert_refused ("{\"type\":7}", -1, TANDEM_WIRE_ERROR_MALFORMED, "type");
  assert_refused ("{\"type\":\"gossip\"}", -1, TANDEM_WIRE_ERROR_PROTOCOL, "unknown message type");
  /* exactly JSON, where json-glib alone would be lenient */
  assert_refused ("{\"type\":\"ping\"} {\"type\":\"ping\"}", -1, TANDEM_WIRE_ERROR_MALFORMED, "follows");
  assert_refused ("{'type':'ping'}", -1, TANDEM_WIRE_ERROR_MALFORMED, "quoted name");
  assert_refused ("{\"type\":\"ping\",}", -1, TANDEM_WIRE_ERROR_MALFORMED, "quoted name");
  assert_refused ("{\"type\":\"presence\",\"state\":\"online\",\"pos\":01}", -1,
                  TANDEM_WIRE_ERROR_MALFORMED, "missing");
  assert_refused ("{\"type\":\"presence\",\"state\":\"online\",\"pos\":1.}", -1,
                  TANDEM_WIRE_ERROR_MALFORMED, "number");
  /* json-glib would read these as -1 and as infinity */
  assert_refused ("{\"type\":\"want\",\"notebook\":\"00112233445566778899aabbccddeeff\","
                  "\"note\":\"8899aabbccddeeff0011223344556677\",\"version\":{\"00000000000000a1\":18446744073709551615}}",
                  -1, TANDEM_WIRE_ERROR_MALFORMED, "beyond 64 bits");
  assert_refused ("{\"type\":\"presence\",\"state\":\"online\",\"pos\":1e400}", -1,
                  TANDEM_WIRE_ERROR_MALFORMED, "beyond a double's range");
  assert_refused ("{\"type\":\"error\",\"reason\":\"a\tb\"}", -1, TANDEM_WIRE_ERROR_MALFORMED, "control");
  assert_refused ("{\"type\":\"error\",\"reason\":\"\\x\"}", -1, TANDEM_WIRE_ERROR_MALFORMED, "escape");
  assert_refused ("{\"type\":\"error\",\"reason\":\"open", -1, TANDEM_WIRE_ERROR_MALFORMED, "unterminated");
  assert_refused ("{\"type\":\"ping\",\"x\":tru}", -1, TANDEM_WIRE_ERROR_MALFORMED, "not a JSON value");
  assert_refused ("{\"type\":\"auth\",\"tag\":\"00112233445566FF\",\"proof\":\"00\"}", -1,
                  TANDEM_WIRE_ERROR_MALFORMED, "hex");
  assert_refused ("{\"type\":\"auth\",\"proof\":\"00\"}", -1, TANDEM_WIRE_ERROR_MALFORMED, "missing");
  assert_refused ("{\"type\":\"want\",\"notebook\":\"00112233445566778899aabbccddeeff\","
                  "\"note\":\"00112233445566778899aabbccddeeff\",\"version\":[]}", -1,
                  TANDEM_WIRE_ERROR_MALFORMED, "wrong type");
  assert_refused ("{\"type\":\"presence\",\"state\":\"online\",\"pos\":-1}", -1,
                  TANDEM_WIRE_ERROR_MALFORMED, "wrong type");
  assert_refused ("{\"type\":\"presence\",\"state\":\"online\",\"pos\":1.5}", -1,
                  TANDEM_WIRE_ERROR_MALFORMED, "wrong type");
  assert_refused ("{\"type\":\"ping\",\"x\":\"a\\u0000b\"}", -1, TANDEM_WIRE_ERROR_MALFORMED, "NUL");
  assert_refused ("{\"type\":\"ping\"}\0", 16, TANDEM_WIRE_ERROR_MALFORMED, "NUL");
  assert_refused ("{\"type\":\"error\",\"reason\":\"\xff\"}", -1, TANDEM_WIRE_ERROR_MALFORMED, "UTF-8");

  s = g_string_new ("{\"type\":\"ping\",\"x\":");
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (s, '[');
  deep = g_string_free (s, FALSE);
  assert_refused (deep, -1, TANDEM_WIRE_ERROR_MALFORMED, "nest");

  long_name = g_strdup_printf ("{\"type\":\"error\",\"reason\":\"%0300d\"}", 0);
  assert_refused (long_name, -1, TANDEM_WIRE_ERROR_LIMIT, "longer than");
}

static void
test_hex (void)
{
  g_assert_true (tandem_wire_is_hex ("00ff", 4));
  g_assert_false (tandem_wire_is_hex ("00FF", 4));
  g_assert_false (tandem_wire_is_hex ("00f", 4));
  g_assert_false (tandem_wire_is_hex ("00ff0", 4));
  g_assert_false (tandem_wire_is_hex ("00fg", 4));
  g_assert_false (tandem_wire_is_hex (NULL, 4));
}

static void
test_round_trip (void)
{
  JsonBuilder *b = tandem_wire_begin (TANDEM_WIRE_ERROR_MESSAGE);
  g_autofree char *text = NULL;
  g_autoptr(JsonObject) msg = NULL;
  g_autoptr(GError) error = NULL;
  TandemWireType type;
  gsize len;

  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, "a \"quoted\" reason ✓");
  text = tandem_wire_end (b, &len);
  g_assert_cmpuint (len, ==, strlen (text));
  msg = tandem_wire_parse (text, len, &type, &error);
  g_assert_no_error (error);
  g_assert_cmpint (type, ==, TANDEM_WIRE_ERROR_MESSAGE);
  g_assert_cmpstr (json_object_get_string_member (msg, "reason"), ==, "a \"quoted\" reason ✓");
}

/* Random damage to valid messages: every input either parses into a
 * message whose members have the checked types, or is refused with a
 * message; none crashes (run under ASan/valgrind to see the rest). */
static void
test_fuzz (void)
{
  g_autoptr(GPtrArray) messages = valid_messages ();
  guint32 seed = g_test_rand_int ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  static const char specials[] = "{}[]\":,\\0123456789abcdef-.eE \x01\x7f\xc3\xa9\xff";
  guint parsed = 0, refused = 0;

  g_test_message ("seed %u", seed);
  for (guint iter = 0; iter < 20000; iter++)
    {
      const char *base = g_ptr_array_index (messages, g_rand_int_range (rand, 0, messages->len));
      GString *s = g_string_new (base);
      guint n_edits = g_rand_int_range (rand, 1, 6);
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) msg = NULL;
      TandemWireType type;

      for (guint e = 0; e < n_edits && s->len > 0; e++)
        {
          gsize at = g_rand_int_range (rand, 0, (gint32) s->len);

          switch (g_rand_int_range (rand, 0, 4))
            {
            case 0: /* replace a byte */
              s->str[at] = specials[g_rand_int_range (rand, 0, sizeof specials - 1)];
              break;
            case 1: /* delete a stretch */
              {
                gsize len = (gsize) g_rand_int_range (rand, 1, 8);

                g_string_erase (s, (gssize) at, (gssize) MIN (len, s->len - at));
              }
              break;
            case 2: /* insert a byte */
              g_string_insert_c (s, (gssize) at, specials[g_rand_int_range (rand, 0, sizeof specials - 1)]);
              break;
            default: /* cut */
              g_string_truncate (s, at);
              break;
            }
        }
      msg = tandem_wire_parse (s->str, s->len, &type, &error);
      if (msg != NULL)
        {
          g_assert_no_error (error);
          g_assert_cmpint (type, <, TANDEM_WIRE_N_TYPES);
          g_assert_cmpstr (json_object_get_string_member (msg, "type"), ==, tandem_wire_type_name (type));
          parsed++;
        }
      else
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == TANDEM_WIRE_ERROR);
          g_assert_cmpstr (error->message, !=, "");
          refused++;
        }
      g_string_free (s, TRUE);
    }
  g_test_message ("%u parsed, %u refused", parsed, refused);
  /* the loop must exercise both outcomes to mean anything */
  g_assert_cmpuint (parsed, >, 100);
  g_assert_cmpuint (refused, >, 1000);
}

/* A name holding any control character goes out as JSON the checks take
 * back: json-glib alone leaves U+001F raw (found by fuzz-markdown). */
static void
test_control_characters (void)
{
  char name[32];
  JsonBuilder *b = tandem_wire_begin (TANDEM_WIRE_ERROR_MESSAGE);
  g_autofree char *frame = NULL;
  gsize len;
  g_autoptr(GError) error = NULL;
  TandemWireType type;
  g_autoptr(JsonObject) msg = NULL;

  for (guint c = 1; c < 0x20; c++)
    name[c - 1] = (char) c;
  name[31] = '\0';
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, name);
  frame = tandem_wire_end (b, &len);
  msg = tandem_wire_parse (frame, len, &type, &error);
  g_assert_no_error (error);
  g_assert_cmpint (type, ==, TANDEM_WIRE_ERROR_MESSAGE);
  g_assert_cmpstr (json_object_get_string_member (msg, "reason"), ==, name);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/wire/valid", test_valid);
  g_test_add_func ("/net/wire/refused", test_refused);
  g_test_add_func ("/net/wire/hex", test_hex);
  g_test_add_func ("/net/wire/round-trip", test_round_trip);
  g_test_add_func ("/net/wire/control-characters", test_control_characters);
  g_test_add_func ("/net/wire/fuzz", test_fuzz);
  return g_test_run ();
}

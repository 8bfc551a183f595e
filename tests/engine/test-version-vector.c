/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "tandem-version-vector.h"

static void
test_set_get (void)
{
  g_autoptr(TandemVersionVector) vv = tandem_version_vector_new ();

  g_assert_cmpuint (tandem_version_vector_get (vv, 7), ==, 0);
  tandem_version_vector_set (vv, 7, 3);
  tandem_version_vector_set (vv, 2, 1);
  g_assert_cmpuint (tandem_version_vector_get (vv, 7), ==, 3);
  g_assert_cmpuint (tandem_version_vector_get (vv, 2), ==, 1);
  g_assert_cmpuint (tandem_version_vector_get_size (vv), ==, 2);
  g_assert_cmpuint (tandem_version_vector_get_entry (vv, 0)->peer, ==, 2);
  tandem_version_vector_set (vv, 2, 0);
  g_assert_cmpuint (tandem_version_vector_get_size (vv), ==, 1);
  g_assert_cmpuint (tandem_version_vector_total (vv), ==, 3);
}

static void
test_order (void)
{
  g_autoptr(TandemVersionVector) a = tandem_version_vector_new ();
  g_autoptr(TandemVersionVector) b = NULL;
  TandemEventId in = { 1, 1 }, out = { 1, 2 };

  tandem_version_vector_set (a, 1, 2);
  b = tandem_version_vector_copy (a);
  g_assert_true (tandem_version_vector_equal (a, b));
  g_assert_false (tandem_version_vector_dominates (a, b));
  tandem_version_vector_set (b, 5, 1);
  g_assert_true (tandem_version_vector_leq (a, b));
  g_assert_true (tandem_version_vector_dominates (b, a));
  tandem_version_vector_set (a, 1, 3);
  /* now concurrent */
  g_assert_false (tandem_version_vector_leq (a, b));
  g_assert_false (tandem_version_vector_leq (b, a));
  tandem_version_vector_merge (a, b);
  g_assert_cmpuint (tandem_version_vector_get (a, 5), ==, 1);
  g_assert_cmpuint (tandem_version_vector_get (a, 1), ==, 3);
  g_assert_true (tandem_version_vector_contains (b, &in));
  g_assert_false (tandem_version_vector_contains (b, &out));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/version-vector/set-get", test_set_get);
  g_test_add_func ("/engine/version-vector/order", test_order);
  return g_test_run ();
}

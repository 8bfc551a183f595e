/* test-input-method.h: an input method the window tests drive
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TEST_INPUT_METHOD_ID "tandem-test"
#define TEST_TYPE_INPUT_METHOD (test_input_method_get_type ())

G_DECLARE_FINAL_TYPE (TestInputMethod, test_input_method, TEST, INPUT_METHOD, GtkIMContext)

void             test_input_method_register   (void);
TestInputMethod *test_input_method_get_last   (void);
void             test_input_method_compose    (TestInputMethod *self,
                                               const char      *preedit);
void             test_input_method_commit     (TestInputMethod *self,
                                               const char      *text);
guint            test_input_method_get_resets (TestInputMethod *self);
void             test_input_method_forget_resets (TestInputMethod *self);

G_END_DECLS

// fieldsync/field_check.h: the check a Database makes at its door, for values that arrive by
// another one (the server judging a tablet's push).
//
// A Database refuses bad input and stores values in one normal form (E.164 phones, lowercased
// emails, NFC text, UTC datetimes, canonical decimals, sorted string sets; model/validator.h).
// A peer must hold the same values, so a change from the network is checked against the same
// rules and must already be in that normal form: a value the door would have changed is refused
// rather than silently rewritten (two replicas would then disagree on what was written).
//
// Thread safety: free functions, no shared state.
#pragma once

#include <string_view>

#include "fieldsync/schema.h"
#include "fieldsync/status.h"

namespace fieldsync {

// Checks `fields_json`, a JSON object of field → value of `collection` (null clears a field),
// field by field as a patch (required fields are not demanded: a change may carry some fields
// only). Each value must be valid for its field and already normal. `set_elements_json` (may be
// empty) is an object of field → array of elements added to string-set fields: each element is
// checked for validity only. InvalidArgument naming every bad field ("grade: 'Z' is not one of:
// A, B, C, D, E"). The message is for the sender: it may quote the refused value.
Status CheckNormalizedFields(const Schema& schema, std::string_view collection,
                             std::string_view fields_json, std::string_view set_elements_json = {});

}  // namespace fieldsync

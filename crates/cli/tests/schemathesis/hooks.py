"""Schemathesis hooks for crates/cli/tests/api_fuzz.rs.

Work-around for schemathesis 4.32.5: before validating a *response* it rewrites Draft 2020-12's
`prefixItems` into the Draft 4 tuple form `items: [...]` and then validates that with a 2020-12
validator, which rejects the array-valued `items` ("Invalid Schema Object in response
definition"). Our document is OpenAPI 3.1 (JSON Schema 2020-12), where `prefixItems` is the
correct tuple keyword (`Totals.system_accounts`), so keep it intact for response schemas only.
Request generation is untouched. Remove this file when the pinned version no longer needs it.
"""

import schemathesis.specs.openapi.adapter.responses as _responses

_to_json_schema = _responses.to_json_schema


def _keep_prefix_items(*args, **kwargs):
    kwargs["convert_prefix_items"] = False
    return _to_json_schema(*args, **kwargs)


_responses.to_json_schema = _keep_prefix_items


# --- A refusal the schema cannot foresee ----------------------------------------------------
#
# `positive_data_acceptance` (configured in schemathesis.toml to let 422 through) fails any
# schema-valid request answered 400. This check takes over for 422: a request the document
# allows may be refused only for a reason no schema can state, named by the problem's field
# error codes below — a record the request names that does not exist, a date compared with
# today, one value compared with another, or the state of the data. Any other code (a length,
# a pattern, a missing field…) means the document is less strict than the server: a failure.
import schemathesis  # noqa: E402
from schemathesis.specs.openapi.checks import is_unexpected_http_status_case  # noqa: E402

DATA_DEPENDENT = {
    # a record the request names (by id or code) that does not exist, or not for this use
    "unknown_citizen", "unknown_partner", "partner_unknown", "unknown_scene", "unknown_standard",
    "unknown_village", "region_parent_unknown", "household_invite_unknown", "not_enrolled",
    "untrusted_partner", "inactive_standard", "not_nominable", "own_deed",
    "not_a_committee_member", "not_household_head", "not_linked", "deed_key_scope",
    # a date compared with today
    "in_past", "in_future", "not_yet_valid", "appeal_deadline",
    # one value compared with another, of the request or of the stored data
    "out_of_range", "cap_exceeded", "insufficient_balance",
    # the state of a record: already done, or not in the state the action needs
    "already_appealed", "already_decided", "already_linked", "already_objected",
    "already_reversed", "already_revoked", "already_voted", "not_on_publicity",
    "not_open_for_votes", "not_rejected", "not_reversible", "no_open_appeal", "code_used",
    "key_used", "household_invite_expired",
    # a household invite's household is in another village than the one the request names
    "household_other_village",
    # a one-time code against the one the server sent (stored, hashed): none sent or expired,
    # not that one, too many wrong tries
    "otp_expired", "otp_wrong", "otp_attempts",
    # once the right code proved the phone: whether a record carries it
    "phone_not_enrolled",
    # the name and number on the ID card against those the resident enrolled with
    "identity_mismatch",
    # an opaque cursor that is not the previous page's next_cursor
    "cursor_format",
    # the one city exists, so a new region needs a parent; a parent of the wrong level
    "region_parent_missing", "staff_region_level",
    # an ID number's check digit and birth date
    "resident_id_checksum", "resident_id_birth_date",
    # a moral code's content and signature, which only verification can judge
    "not_base45", "not_cose", "unsupported_algorithm", "unknown_key", "bad_signature",
    "missing_claim", "bad_claim", "expired", "too_large",
    # an evidence file's type, read from its bytes (JSON Schema's contentMediaType only annotates)
    "file_type",
}


# A file to import (`POST /imports`, `POST /partner/deeds/bulk`): whether the bytes
# (`format: binary`) are a spreadsheet at all is read from them, like `file_type` above, and its
# rows are judged cell by cell against the kind's Table Schema (`GET /import-kinds/{kind}`:
# columns by name, Chinese title or alias, keys unique in the file, look-ups, caps across rows)
# and the stored data, which no JSON Schema of the body as one string can state (the CSV
# pattern gives its shape only). The import refuses such a file whole, naming every problem.
IMPORT_REFUSED = "/problems/import-refused"


@schemathesis.check
def refused_only_for_what_no_schema_can_say(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    if is_unexpected_http_status_case(case):
        return None
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    if problem.get("type") == IMPORT_REFUSED:
        return None
    errors = problem.get("errors") or []
    codes = sorted({e.get("code") for e in errors})
    schema_able = [c for c in codes if c not in DATA_DEPENDENT]
    if not codes or schema_able:
        raise AssertionError(
            "A request the document allows was refused (422) for a reason the document could "
            f"state: {', '.join(map(str, schema_able or ['(no field errors)']))}; "
            f"problem: {response.text[:500]}"
        )
    return None

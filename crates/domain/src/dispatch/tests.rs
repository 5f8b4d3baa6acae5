use super::*;

#[test]
fn a_request_is_reviewed_only_by_its_alliance_then_dispatched_served_and_rated_once() {
    let s = TaskStatus::Requested;
    assert_eq!(
        s.step(TaskStep::Accept, Party::Requester, false)
            .unwrap_err()
            .code,
        "dispatch_not_yours"
    );
    assert_eq!(
        s.step(TaskStep::Dispatch, Party::Organiser, false)
            .unwrap_err()
            .code,
        "dispatch_not_reviewed"
    );
    let s = s.step(TaskStep::Accept, Party::Organiser, false).unwrap();
    assert_eq!(s, TaskStatus::Accepted);
    assert_eq!(
        s.step(TaskStep::Reject, Party::Organiser, false)
            .unwrap_err()
            .code,
        "dispatch_already_reviewed"
    );
    assert_eq!(
        s.step(TaskStep::Rate, Party::Requester, false)
            .unwrap_err()
            .code,
        "dispatch_not_served"
    );
    let s = s.step(TaskStep::Dispatch, Party::Organiser, false).unwrap();
    assert_eq!(
        s.step(TaskStep::Start, Party::Other, false)
            .unwrap_err()
            .code,
        "dispatch_not_yours"
    );
    let s = s.step(TaskStep::Start, Party::Volunteer, false).unwrap();
    assert_eq!(s, TaskStatus::InService);
    assert_eq!(
        s.step(TaskStep::Cancel, Party::Requester, false)
            .unwrap_err()
            .code,
        "dispatch_in_service"
    );
    assert_eq!(s.step(TaskStep::Rate, Party::Requester, false), Ok(s));
    assert_eq!(
        s.step(TaskStep::Rate, Party::Requester, true)
            .unwrap_err()
            .code,
        "dispatch_already_rated"
    );
    let s = s.step(TaskStep::Close, Party::Organiser, true).unwrap();
    assert_eq!(s, TaskStatus::Closed);
    assert_eq!(
        s.step(TaskStep::Dispatch, Party::Organiser, true)
            .unwrap_err()
            .code,
        "dispatch_task_ended"
    );
}

#[test]
fn a_rejected_or_cancelled_task_takes_no_further_step() {
    let r = TaskStatus::Requested
        .step(TaskStep::Reject, Party::Organiser, false)
        .unwrap();
    for step in [TaskStep::Accept, TaskStep::Dispatch, TaskStep::Close] {
        assert_eq!(
            r.step(step, Party::Organiser, false).unwrap_err().code,
            "dispatch_task_ended"
        );
    }
    let c = TaskStatus::Accepted
        .step(TaskStep::Cancel, Party::Requester, false)
        .unwrap();
    assert_eq!(c, TaskStatus::Cancelled);
    assert_eq!(
        TaskStatus::Accepted
            .step(TaskStep::Cancel, Party::Volunteer, false)
            .unwrap_err()
            .code,
        "dispatch_not_yours"
    );
}

#[test]
fn an_offer_is_answered_by_its_volunteer_once_and_a_no_show_needs_a_started_shift() {
    let o = OfferStatus::Offered;
    assert_eq!(
        o.step(OfferStep::Accept, Party::Organiser, false, false)
            .unwrap_err()
            .code,
        "dispatch_not_yours"
    );
    assert_eq!(
        o.step(OfferStep::Decline, Party::Volunteer, false, false),
        Ok(OfferStatus::Declined)
    );
    assert_eq!(
        o.step(OfferStep::Expire, Party::Other, false, false),
        Ok(OfferStatus::Expired)
    );
    let a = o
        .step(OfferStep::Accept, Party::Volunteer, false, false)
        .unwrap();
    assert_eq!(
        a.step(OfferStep::Accept, Party::Volunteer, false, false)
            .unwrap_err()
            .code,
        "dispatch_offer_answered"
    );
    assert_eq!(
        a.step(OfferStep::Expire, Party::Other, false, false)
            .unwrap_err()
            .code,
        "dispatch_offer_answered"
    );
    assert_eq!(
        a.step(OfferStep::NoShow, Party::Organiser, false, false)
            .unwrap_err()
            .code,
        "dispatch_not_started"
    );
    assert_eq!(
        a.step(OfferStep::NoShow, Party::Organiser, true, true)
            .unwrap_err()
            .code,
        "dispatch_checked_in"
    );
    assert_eq!(
        a.step(OfferStep::NoShow, Party::Organiser, true, false),
        Ok(OfferStatus::NoShow)
    );
    assert_eq!(
        a.step(OfferStep::Cancel, Party::Volunteer, false, false),
        Ok(OfferStatus::Cancelled)
    );
    assert_eq!(
        a.step(OfferStep::Cancel, Party::Volunteer, true, false)
            .unwrap_err()
            .code,
        "dispatch_started"
    );
    let d = OfferStatus::Declined;
    assert_eq!(
        d.step(OfferStep::Accept, Party::Volunteer, false, false)
            .unwrap_err()
            .code,
        "dispatch_offer_closed"
    );
    assert_eq!(
        OfferStatus::Waitlisted.step(OfferStep::Accept, Party::Volunteer, false, false),
        Ok(OfferStatus::Accepted)
    );
}

#[test]
fn every_status_round_trips_through_its_name() {
    for s in TaskStatus::ALL {
        assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
    }
    for s in OfferStatus::ALL {
        assert_eq!(OfferStatus::parse(s.as_str()), Some(s));
    }
}

const NOW: i64 = 1_800_000_000_000;
const H: i64 = crate::time::HOUR_MS;

#[test]
fn a_request_names_every_bad_field_at_once() {
    let none: Vec<String> = vec![];
    let bad_skill = vec!["juggling".to_string()];
    let e = Ask::parse(
        &AskInput {
            category: "weather",
            title: " ",
            place: "",
            starts_at: Some(NOW - H),
            ends_at: Some(NOW),
            people: "0",
            skills: &bad_skill,
            certificates: &none,
            notes: "",
        },
        NOW,
    )
    .unwrap_err();
    let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "category",
            "title",
            "place",
            "people",
            "skills",
            "starts_at"
        ]
    );
    let repair = vec!["repair".to_string()];
    let e = Ask::parse(
        &AskInput {
            category: "services",
            title: "修水龙头",
            place: "村委会",
            starts_at: Some(NOW + H),
            ends_at: Some(NOW + 14 * H),
            people: "2",
            skills: &none,
            certificates: &repair,
            notes: "",
        },
        NOW,
    )
    .unwrap_err();
    let codes: Vec<&str> = e.0.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["not_certified", "window_too_long"]);
}

#[test]
fn a_good_request_parses_with_its_skills_in_catalogue_order() {
    let skills = vec![
        "driving".to_string(),
        "first-aid".to_string(),
        "driving".to_string(),
    ];
    let certs = vec!["first-aid".to_string()];
    let a = Ask::parse(
        &AskInput {
            category: "neighbourhood",
            title: "陪老人就医",
            place: "谢家塘村",
            starts_at: Some(NOW + H),
            ends_at: Some(NOW + 3 * H),
            people: "2",
            skills: &skills,
            certificates: &certs,
            notes: "行动不便",
        },
        NOW,
    )
    .unwrap();
    assert_eq!(a.skills, ["first-aid", "driving"]);
    assert_eq!(a.people, 2);
}

#[test]
fn attendance_counts_only_within_the_window_and_its_grace() {
    let (s, e) = (NOW, NOW + 2 * H);
    assert_eq!(attendance_minutes(s, e, s, e), 120);
    assert_eq!(attendance_minutes(s - 3 * H, e + 3 * H, s, e), 120);
    assert_eq!(attendance_minutes(s + H / 2, e - H / 2, s, e), 60);
    assert_eq!(attendance_minutes(e, s, s, e), 0);
    assert_eq!(hours_of(179), 2);
    assert_eq!(hours_of(-5), 0);
}

#[test]
fn two_proofs_must_come_from_two_parties() {
    use Attendance as A;
    use Confirmation as C;
    assert!(check_proofs(A::SiteCode, C::Requester, true).is_ok());
    assert!(check_proofs(A::OrganiserScan, C::ClerkPhone, true).is_ok());
    assert_eq!(
        check_proofs(A::SiteCode, C::Roster, true).unwrap_err().code,
        "dispatch_requester_confirms"
    );
    assert!(check_proofs(A::SiteCode, C::Roster, false).is_ok());
    assert_eq!(
        check_proofs(A::OrganiserScan, C::Roster, false)
            .unwrap_err()
            .code,
        "dispatch_same_party"
    );
    assert_eq!(
        check_proofs(A::Manual, C::Roster, false).unwrap_err().code,
        "dispatch_same_party"
    );
}

#[test]
fn manual_hours_need_a_reason_a_cap_and_a_second_approver() {
    let e = ManualHours::parse("300", "", 120).unwrap_err();
    let codes: Vec<&str> = e.0.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["out_of_range", "required"]);
    // The cap is the window and its grace, under the absolute cap.
    assert!(ManualHours::parse("180", "忘记扫码", 120).is_ok());
    assert!(ManualHours::parse("181", "忘记扫码", 120).is_err());
    assert!(ManualHours::parse("240", "忘记扫码", 600).is_ok());
    assert!(ManualHours::parse("241", "忘记扫码", 600).is_err());
    assert_eq!(
        ManualHours::approve("staff:a", "staff:a").unwrap_err().code,
        "dispatch_same_approver"
    );
    assert!(ManualHours::approve("staff:a", "staff:b").is_ok());
}

#[test]
fn a_rating_is_one_to_five_stars() {
    assert_eq!(rating("5", " 很好 ").unwrap(), (5, "很好".to_string()));
    assert!(rating("0", "").is_err());
    assert!(rating("six", "").is_err());
}

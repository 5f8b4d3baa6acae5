//! Authorisation: which principal may take which action. Every handler calls [`require`] with
//! its action before it touches data, and citizen reads are further narrowed by [`citizen_scope`]
//! (an evaluator sees only their village, a town reviewer only their town). The route × role
//! matrix test walks every route with every kind of caller against this table.

use crate::auth::Principal;
use crate::error::AppError;
use domain::Role;
use moralbank_store::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A resident's own record, export, withdrawal, household invites.
    OwnRecord,
    /// The staff console's landing page.
    StaffConsole,
    /// Find and view citizens (masked for all but the admin), within the caller's scope.
    ReadCitizens,
    /// Confirm in person that a resident of the caller's scope is who their record names (the
    /// real-name step): the village office, that is the village's evaluators, and the admin.
    ConfirmIdentity,
    /// See the region tree in the console.
    ViewRegions,
    /// Change the region tree.
    ManageRegions,
    /// Staff accounts and roles.
    ManageStaff,
    /// Partner organisations and API keys.
    ManagePartners,
    /// The region list over the API.
    ReadRegionsApi,
    /// A partner reading its own organisation.
    PartnerSelf,
    /// A citizen's ledger entries (each read logged in their access log).
    ReadCitizenLedger,
    /// The ledger's totals and the list of reversal requests.
    ViewLedger,
    /// Ask for, approve or decline a reversal (two different people).
    ManageLedger,
    /// A resident reports, nominates, objects and appeals.
    ReportDeeds,
    /// A partner submits verified deeds.
    SubmitDeeds,
    /// A village committee member votes on its village's deeds.
    VoteDeeds,
    /// A town reviewer decides its town's appeals.
    DecideAppeals,
    /// The catalogue of point standards.
    ManageStandards,
    /// Issue and revoke green cards.
    ManageGreenCards,
    /// The list of green cards and their figures.
    ViewGreenCards,
    /// Service scenes and benefits.
    ManageBenefits,
    /// A partner redeeming a benefit for a scanned code.
    RedeemBenefits,
    /// A partner's operator scanning codes and redeeming their partner's benefits on the
    /// scanner page.
    ScanCodes,
    /// Import files of records (city data): a partner's by its API key or its operators' page,
    /// the city's own (green-card honour lists) by its admins' page.
    ImportFiles,
    /// The statistics dashboard, within the caller's scope (city, town or village).
    ViewStatistics,
    /// A bank reads moral credit reports: presented by a household (verified offline) or
    /// pulled under a live consent. Only a partner of kind `bank` (checked by the handler).
    ReadCreditReports,
    /// A bank records its decisions and its monthly loan book.
    RecordLoans,
    /// The banks' credit-line tables (set by the admin with each bank).
    ManageCreditTables,
    /// The loan figures from the banks' books.
    ViewCreditFigures,
    /// An alliance's operator reviews requests, dispatches volunteers, runs the service and
    /// sees its figures (the handler checks the partner is a volunteer alliance).
    DispatchVolunteers,
    /// A village clerk asks for help for a resident of their village without a phone, and
    /// records that resident's confirmation.
    RequestHelpFor,
    /// The technology supermarket's console: an enterprise's operator (the handler checks the
    /// partner is a registered enterprise) or the office's broker.
    UseMarket,
    /// The technology supermarket's office: enterprises, achievements, pins, events and the
    /// door, contracts' registration, figures.
    RunMarket,
}

fn staff_may(role: Role, action: Action) -> bool {
    use Action::*;
    match action {
        OwnRecord | PartnerSelf | ReportDeeds | SubmitDeeds | RedeemBenefits => false,
        VoteDeeds => role == Role::Evaluator,
        ScanCodes | ReadCreditReports | RecordLoans | DispatchVolunteers => {
            role == Role::PartnerOperator
        }
        RequestHelpFor => role == Role::Evaluator,
        ManageCreditTables => role == Role::Admin,
        ViewCreditFigures => matches!(role, Role::Admin | Role::Auditor),
        ImportFiles => matches!(role, Role::PartnerOperator | Role::Admin | Role::Broker),
        UseMarket => matches!(role, Role::PartnerOperator | Role::Broker),
        RunMarket => role == Role::Broker,
        DecideAppeals => role == Role::TownReviewer,
        StaffConsole | ReadRegionsApi => true,
        ViewStatistics => matches!(
            role,
            Role::Admin | Role::Auditor | Role::TownReviewer | Role::Evaluator
        ),
        ReadCitizens => matches!(role, Role::Admin | Role::Evaluator | Role::TownReviewer),
        ConfirmIdentity => matches!(role, Role::Admin | Role::Evaluator),
        ViewRegions => matches!(role, Role::Admin | Role::Auditor),
        ViewLedger | ViewGreenCards => matches!(role, Role::Admin | Role::Auditor),
        ManageRegions | ManageStaff | ManagePartners | ReadCitizenLedger | ManageLedger
        | ManageStandards | ManageGreenCards | ManageBenefits => role == Role::Admin,
    }
}

fn partner_scope(action: Action) -> Option<&'static str> {
    match action {
        Action::ReadRegionsApi => Some("regions:read"),
        Action::PartnerSelf => Some("partner:read"),
        Action::SubmitDeeds | Action::ImportFiles => Some("deeds:submit"),
        Action::RedeemBenefits => Some("benefits:redeem"),
        Action::ReadCreditReports => Some("credit:read"),
        Action::RecordLoans => Some("loans:write"),
        _ => None,
    }
}

pub fn allowed(principal: &Principal, action: Action) -> bool {
    match principal {
        Principal::Anonymous => false,
        Principal::Citizen { .. } => matches!(
            action,
            Action::OwnRecord | Action::ReadRegionsApi | Action::ReportDeeds
        ),
        Principal::Staff(s) => s.active && staff_may(s.role, action),
        Principal::Partner(p) => {
            partner_scope(action).is_some_and(|scope| p.scopes.iter().any(|s| s == scope))
        }
    }
}

/// `Unauthorized` for nobody, `Forbidden` for somebody who may not.
pub fn require(principal: &Principal, action: Action) -> Result<(), AppError> {
    if allowed(principal, action) {
        Ok(())
    } else if matches!(principal, Principal::Anonymous) {
        Err(AppError::Unauthorized)
    } else {
        Err(AppError::Forbidden)
    }
}

/// Which citizens a staff member may read; `None` means none at all.
pub fn citizen_scope(principal: &Principal) -> Option<Scope> {
    let s = principal.staff()?;
    match (s.role, &s.region_id) {
        (Role::Admin, _) => Some(Scope::City),
        (Role::Evaluator, Some(v)) => Some(Scope::Village(v.clone())),
        (Role::TownReviewer, Some(t)) => Some(Scope::Town(t.clone())),
        _ => None,
    }
}

/// Only the person themself and the admin see names unmasked.
pub fn sees_full_names(principal: &Principal) -> bool {
    principal.staff().is_some_and(|s| s.role == Role::Admin)
}

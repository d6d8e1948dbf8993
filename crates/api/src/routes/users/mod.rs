//! `/api/v1/me` and `/api/v1/users`.

use utoipa_actix_web::service_config::ServiceConfig;

pub mod create;
pub mod list;
pub mod me;
pub mod update;

/// Registers the user routes.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(me::get_me)
        .service(list::list_users)
        .service(create::create_user)
        .service(update::update_user);
}

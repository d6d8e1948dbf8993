// @generated automatically by Diesel CLI.

diesel::table! {
    api_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        actor_id -> Nullable<Uuid>,
        actor_name -> Text,
        action -> Text,
        target -> Text,
        outcome -> Text,
        detail -> Text,
    }
}

diesel::table! {
    cloud_config_revisions (cloud_config_id, revision) {
        cloud_config_id -> Uuid,
        revision -> Int4,
        user_data -> Text,
        image -> Text,
        config -> Jsonb,
        author_id -> Nullable<Uuid>,
        author_name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    cloud_configs (id) {
        id -> Uuid,
        namespace -> Text,
        name -> Text,
        description -> Text,
        current_revision -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    deployment_cloud_configs (deployment_id, cloud_config_id) {
        deployment_id -> Uuid,
        cloud_config_id -> Uuid,
        revision -> Int4,
        added_at -> Timestamptz,
    }
}

diesel::table! {
    deployments (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    hosts (id) {
        id -> Uuid,
        name -> Text,
        transport -> Text,
        url -> Nullable<Text>,
        fingerprint -> Nullable<Text>,
        socket_path -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        name -> Text,
        is_admin -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(audit_log -> users (actor_id));
diesel::joinable!(cloud_config_revisions -> cloud_configs (cloud_config_id));
diesel::joinable!(cloud_config_revisions -> users (author_id));
diesel::joinable!(deployment_cloud_configs -> cloud_configs (cloud_config_id));
diesel::joinable!(deployment_cloud_configs -> deployments (deployment_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    audit_log,
    cloud_config_revisions,
    cloud_configs,
    deployment_cloud_configs,
    deployments,
    hosts,
    users,
);

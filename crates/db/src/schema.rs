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
        role -> Nullable<Text>,
        deployments -> Nullable<Array<Nullable<Uuid>>>,
        expires_at -> Nullable<Timestamptz>,
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
        image_server -> Nullable<Text>,
        image_protocol -> Nullable<Text>,
        image_certificate -> Nullable<Text>,
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
        status -> Text,
        healing -> Bool,
    }
}

diesel::table! {
    exposed_ports (id) {
        id -> Uuid,
        deployment_id -> Uuid,
        cloud_config_id -> Uuid,
        target_port -> Int4,
        protocol -> Text,
        check_kind -> Text,
        check_path -> Nullable<Text>,
        check_status -> Nullable<Int4>,
        check_send -> Nullable<Bytea>,
        check_expect -> Nullable<Bytea>,
        frontend_port -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    host_routing (host_id) {
        host_id -> Uuid,
        reach -> Text,
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
        project -> Text,
        member_urls -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    instance_ports (instance_id, exposed_port_id) {
        instance_id -> Uuid,
        exposed_port_id -> Uuid,
        host_id -> Uuid,
        host_port -> Int4,
    }
}

diesel::table! {
    instances (id) {
        id -> Uuid,
        deployment_id -> Uuid,
        cloud_config_id -> Uuid,
        revision -> Int4,
        host_id -> Uuid,
        name -> Text,
        ordinal -> Int4,
        profiles -> Array<Nullable<Text>>,
        state -> Text,
        last_error -> Nullable<Text>,
        readiness -> Text,
        readiness_detail -> Nullable<Text>,
        phone_home_secret -> Nullable<Text>,
        phoned_home_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        first_started_at -> Nullable<Timestamptz>,
        last_started_at -> Nullable<Timestamptz>,
        last_stopped_at -> Nullable<Timestamptz>,
        heal_attempts -> Int4,
        heal_not_before -> Nullable<Timestamptz>,
        image_fingerprint -> Nullable<Text>,
        location -> Nullable<Text>,
    }
}

diesel::table! {
    job_items (job_id, instance_id) {
        job_id -> Uuid,
        instance_id -> Uuid,
        instance_name -> Text,
        host_id -> Uuid,
        host_name -> Text,
        step -> Text,
        finished -> Bool,
        error -> Nullable<Text>,
        updated_at -> Timestamptz,
        progress -> Nullable<Text>,
    }
}

diesel::table! {
    jobs (id) {
        id -> Uuid,
        deployment_id -> Nullable<Uuid>,
        deployment_name -> Text,
        kind -> Text,
        state -> Text,
        then_start -> Bool,
        total -> Int4,
        done -> Int4,
        failed -> Int4,
        error -> Nullable<Text>,
        created_by -> Text,
        claimed_by -> Nullable<Text>,
        attempts -> Int4,
        heartbeat_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    rollouts (job_id) {
        job_id -> Uuid,
        cloud_config_id -> Uuid,
        from_revision -> Int4,
        to_revision -> Int4,
        target_count -> Int4,
        max_surge -> Int4,
        max_unavailable -> Int4,
        min_ready_seconds -> Int4,
        progress_deadline_seconds -> Int4,
        pause_after_canary -> Bool,
        canary_passed -> Bool,
        phase -> Text,
        deadline_at -> Timestamptz,
        old_count -> Int4,
        new_count -> Int4,
        ready_count -> Int4,
        peak_count -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    rotation_holds (instance_id) {
        instance_id -> Uuid,
        reason -> Text,
        created_at -> Timestamptz,
        drained_by -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    routing_nodes (name) {
        name -> Text,
        heartbeat_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        role -> Text,
        disabled_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(audit_log -> users (actor_id));
diesel::joinable!(cloud_config_revisions -> cloud_configs (cloud_config_id));
diesel::joinable!(cloud_config_revisions -> users (author_id));
diesel::joinable!(deployment_cloud_configs -> cloud_configs (cloud_config_id));
diesel::joinable!(deployment_cloud_configs -> deployments (deployment_id));
diesel::joinable!(host_routing -> hosts (host_id));
diesel::joinable!(instance_ports -> exposed_ports (exposed_port_id));
diesel::joinable!(instance_ports -> hosts (host_id));
diesel::joinable!(instance_ports -> instances (instance_id));
diesel::joinable!(instances -> cloud_configs (cloud_config_id));
diesel::joinable!(instances -> deployments (deployment_id));
diesel::joinable!(instances -> hosts (host_id));
diesel::joinable!(job_items -> jobs (job_id));
diesel::joinable!(jobs -> deployments (deployment_id));
diesel::joinable!(rollouts -> jobs (job_id));
diesel::joinable!(rotation_holds -> instances (instance_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    audit_log,
    cloud_config_revisions,
    cloud_configs,
    deployment_cloud_configs,
    deployments,
    exposed_ports,
    host_routing,
    hosts,
    instance_ports,
    instances,
    job_items,
    jobs,
    rollouts,
    rotation_holds,
    routing_nodes,
    users,
);

//! Typed views of `show stat` (CSV) and `show servers state` (space-separated), parsed by column
//! name from HAProxy's own header line so a version that adds columns still parses.

use std::collections::HashMap;
use std::net::IpAddr;

/// The status column of a server (or proxy) row, as HAProxy 2.6 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerStatus {
    /// In rotation (`UP`, also `UP 1/3` = up, with failed checks counting towards DOWN).
    Up,
    /// Out of rotation by its checks (`DOWN`, also `DOWN 1/2` = down, recovering).
    Down,
    /// Taking no new traffic, finishing what it has (`DRAIN`).
    Drain,
    /// In maintenance (`MAINT`, `MAINT(via)`, `MAINT (resolution)`); dynamic servers start here.
    Maint,
    /// In rotation without checks (`no check`).
    NoCheck,
    /// Up but not load-balanced (`NOLB`).
    NoLb,
    /// A frontend accepting connections (`OPEN`).
    Open,
    /// Anything else, verbatim (`FULL`, `STOP`, …).
    Other(String),
}

impl ServerStatus {
    /// Parses the `status` column.
    pub fn parse(raw: &str) -> Self {
        let raw = raw.trim();
        let word = raw.split([' ', '(']).next().unwrap_or("");
        match word {
            "UP" => Self::Up,
            "DOWN" => Self::Down,
            "DRAIN" => Self::Drain,
            "MAINT" => Self::Maint,
            "NOLB" => Self::NoLb,
            "OPEN" => Self::Open,
            "no" if raw == "no check" => Self::NoCheck,
            _ => Self::Other(raw.to_owned()),
        }
    }

    /// Whether new requests can be sent to a server in this state.
    pub fn in_rotation(&self) -> bool {
        matches!(self, Self::Up | Self::NoCheck)
    }
}

/// What a `show stat` row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A frontend's totals (`svname` = `FRONTEND`).
    Frontend,
    /// A backend's totals (`svname` = `BACKEND`).
    Backend,
    /// One server.
    Server,
    /// One listener (only shown with `option socket-stats`).
    Listener,
}

/// One row of `show stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRow {
    /// The proxy (`pxname`): frontend or backend name.
    pub proxy: String,
    /// The server name, or `FRONTEND`/`BACKEND` for the totals rows (`svname`).
    pub server: String,
    /// What the row is.
    pub kind: RowKind,
    /// Parsed `status`.
    pub status: ServerStatus,
    /// `status` verbatim (keeps `UP 1/3` and the like).
    pub status_raw: String,
    /// Current sessions (`scur`).
    pub scur: u64,
    /// Total sessions since start (`stot`).
    pub stot: u64,
    /// Queued requests (`qcur`); a drained server is idle only when this is 0 too.
    pub qcur: u64,
    /// HTTP requests in total (`req_tot`); `None` in TCP mode.
    pub req_tot: Option<u64>,
    /// Responses with a 5xx status (`hrsp_5xx`); `None` in TCP mode.
    pub hrsp_5xx: Option<u64>,
    /// Last check result code (`check_status`, e.g. `L7OK`, `L7STS`, `L4CON`, `L7TOUT`, `INI`);
    /// `None` when the server has no check.
    pub check_status: Option<String>,
    /// HTTP status of the last check (`check_code`), when there was one.
    pub check_code: Option<u16>,
    /// Human description of the last check (`check_desc`), e.g. `Layer7 wrong status`.
    pub check_desc: Option<String>,
    /// Check health counter (`check_health`): UP when `>= check_rise`; it also counts while the
    /// server is in maintenance, which is how `admit` knows a server is ready.
    pub check_health: Option<u32>,
    /// The server's `rise`.
    pub check_rise: Option<u32>,
    /// The server's `fall`.
    pub check_fall: Option<u32>,
    /// Seconds since the last status change (`lastchg`).
    pub last_change_secs: Option<u64>,
    /// The server's address as HAProxy shows it (`addr`, `ip:port`).
    pub addr: Option<String>,
}

impl StatRow {
    /// Whether the last `rise` checks passed (also true while in maintenance, where checks keep
    /// running): the signal that a server may be put in rotation.
    pub fn checks_passing(&self) -> bool {
        matches!((self.check_health, self.check_rise), (Some(h), Some(r)) if r > 0 && h >= r)
    }

    /// The last check as one line: `L7STS 500 Layer7 wrong status`.
    pub fn last_check(&self) -> String {
        let mut parts = Vec::new();
        parts.extend(self.check_status.clone());
        parts.extend(self.check_code.map(|c| c.to_string()));
        parts.extend(self.check_desc.clone());
        if parts.is_empty() { "none".into() } else { parts.join(" ") }
    }
}

/// Why an answer could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parses the answer to `show stat`.
pub fn parse_show_stat(text: &str) -> Result<Vec<StatRow>, ParseError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .next()
        .and_then(|h| h.strip_prefix("# "))
        .ok_or_else(|| ParseError(format!("no '# pxname,…' header in {:?}", first_line(text))))?;
    let columns: HashMap<&str, usize> = header.split(',').enumerate().map(|(i, name)| (name, i)).collect();
    for required in ["pxname", "svname", "status", "scur", "stot"] {
        if !columns.contains_key(required) {
            return Err(ParseError(format!("show stat has no '{required}' column")));
        }
    }
    let mut rows = Vec::new();
    for line in lines {
        let fields = split_csv(line);
        let get = |name: &str| -> Option<&str> {
            columns.get(name).and_then(|&i| fields.get(i)).map(String::as_str).filter(|s| !s.is_empty())
        };
        let num = |name: &str| -> Result<Option<u64>, ParseError> {
            get(name)
                .map(|v| v.parse().map_err(|_| ParseError(format!("column {name} = {v:?} is not a number"))))
                .transpose()
        };
        let proxy = get("pxname").unwrap_or_default().to_owned();
        let server = get("svname").unwrap_or_default().to_owned();
        let kind = match server.as_str() {
            "FRONTEND" => RowKind::Frontend,
            "BACKEND" => RowKind::Backend,
            _ if get("type") == Some("3") => RowKind::Listener,
            _ => RowKind::Server,
        };
        let status_raw = get("status").unwrap_or_default().to_owned();
        rows.push(StatRow {
            status: ServerStatus::parse(&status_raw),
            status_raw,
            scur: num("scur")?.unwrap_or(0),
            stot: num("stot")?.unwrap_or(0),
            qcur: num("qcur")?.unwrap_or(0),
            req_tot: num("req_tot")?,
            hrsp_5xx: num("hrsp_5xx")?,
            check_status: get("check_status").map(|s| s.trim_start_matches('*').to_owned()),
            check_code: num("check_code")?.and_then(|c| u16::try_from(c).ok()).filter(|&c| c != 0),
            check_desc: get("check_desc").map(str::to_owned),
            check_health: num("check_health")?.and_then(|v| u32::try_from(v).ok()),
            check_rise: num("check_rise")?.and_then(|v| u32::try_from(v).ok()),
            check_fall: num("check_fall")?.and_then(|v| u32::try_from(v).ok()),
            last_change_secs: num("lastchg")?,
            addr: get("addr").map(str::to_owned),
            proxy,
            server,
            kind,
        });
    }
    Ok(rows)
}

/// Splits one CSV line; HAProxy quotes fields that contain a comma or a quote (`"a,b"`, `""`).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) if field.is_empty() => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// A server's operational state in `show servers state` (`srv_op_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpState {
    /// 0: down (by checks, or never checked while in maintenance).
    Stopped,
    /// 1: coming up (slowstart).
    Starting,
    /// 2: up.
    Running,
    /// 3: going down (still finishing its traffic).
    Stopping,
}

/// Administrative state flags (`srv_admin_state`), as HAProxy 2.6 defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminFlags(pub u32);

impl AdminFlags {
    /// Forced maintenance (`set server … state maint`, `disable server`, or never enabled).
    pub const FORCED_MAINT: u32 = 0x01;
    /// Maintenance inherited from a tracked server.
    pub const INHERITED_MAINT: u32 = 0x02;
    /// Maintenance from the config file (`disabled`).
    pub const CONFIG_MAINT: u32 = 0x04;
    /// Forced drain (`set server … state drain`).
    pub const FORCED_DRAIN: u32 = 0x08;
    /// Drain inherited from a tracked server.
    pub const INHERITED_DRAIN: u32 = 0x10;
    /// Maintenance because DNS resolution failed.
    pub const RESOLUTION_MAINT: u32 = 0x20;
    /// Maintenance because the address is not resolved yet.
    pub const HOSTNAME_MAINT: u32 = 0x40;

    /// In maintenance for any reason: takes no traffic.
    pub fn maint(self) -> bool {
        self.0
            & (Self::FORCED_MAINT
                | Self::INHERITED_MAINT
                | Self::CONFIG_MAINT
                | Self::RESOLUTION_MAINT
                | Self::HOSTNAME_MAINT)
            != 0
    }

    /// Draining: takes no new traffic, finishes what it has.
    pub fn drain(self) -> bool {
        self.0 & (Self::FORCED_DRAIN | Self::INHERITED_DRAIN) != 0
    }
}

/// One row of `show servers state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStateRow {
    /// Backend name (`be_name`).
    pub backend: String,
    /// Server name (`srv_name`).
    pub server: String,
    /// Server address (`srv_addr`).
    pub addr: IpAddr,
    /// Server port (`srv_port`).
    pub port: u16,
    /// Operational state.
    pub op_state: OpState,
    /// Administrative flags.
    pub admin: AdminFlags,
    /// Check health counter (`srv_check_health`).
    pub check_health: u32,
    /// Raw `srv_check_state` flags (0x2 configured, 0x4 enabled, 0x8 paused).
    pub check_state: u32,
    /// The row as HAProxy printed it: the supervisor writes these rows back into the server-state
    /// file before a reload.
    pub raw: String,
}

impl ServerStateRow {
    /// `addr:port` as a socket address.
    pub fn socket_addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.addr, self.port)
    }

    /// Whether the server's health checks run: enabled (`enable health`) and not paused.
    /// HAProxy pauses them when a server *enters* maintenance (`set server … state maint`, or a
    /// server-state file loaded at a reload), and only leaving maintenance resumes them, so a
    /// server waiting in maintenance for its checks must have got there by `add server`.
    pub fn checks_running(&self) -> bool {
        const ENABLED: u32 = 0x4;
        const PAUSED: u32 = 0x8;
        self.check_state & ENABLED != 0 && self.check_state & PAUSED == 0
    }
}

/// Parses the answer to `show servers state [backend]` (format version 1).
pub fn parse_servers_state(text: &str) -> Result<Vec<ServerStateRow>, ParseError> {
    let mut lines = text.lines();
    let version = lines.next().unwrap_or("").trim();
    if version != "1" {
        return Err(ParseError(format!("expected server-state format version 1, got {version:?}")));
    }
    let header = lines
        .next()
        .and_then(|h| h.strip_prefix("# "))
        .ok_or_else(|| ParseError("no '# be_id …' header".into()))?;
    let columns: HashMap<&str, usize> =
        header.split_whitespace().enumerate().map(|(i, name)| (name, i)).collect();
    let col =
        |name: &str| columns.get(name).copied().ok_or_else(|| ParseError(format!("no '{name}' column")));
    let (be, srv, addr, op, admin, health, chk_state, port) = (
        col("be_name")?,
        col("srv_name")?,
        col("srv_addr")?,
        col("srv_op_state")?,
        col("srv_admin_state")?,
        col("srv_check_health")?,
        col("srv_check_state")?,
        col("srv_port")?,
    );
    let mut rows = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let get = |i: usize| f.get(i).copied().ok_or_else(|| ParseError(format!("short row {line:?}")));
        let num = |i: usize| -> Result<u32, ParseError> {
            get(i)?.parse().map_err(|_| ParseError(format!("non-numeric field {i} in {line:?}")))
        };
        rows.push(ServerStateRow {
            backend: get(be)?.to_owned(),
            server: get(srv)?.to_owned(),
            addr: get(addr)?.parse().map_err(|_| ParseError(format!("bad address in {line:?}")))?,
            port: get(port)?.parse().map_err(|_| ParseError(format!("bad port in {line:?}")))?,
            op_state: match num(op)? {
                0 => OpState::Stopped,
                1 => OpState::Starting,
                2 => OpState::Running,
                3 => OpState::Stopping,
                n => return Err(ParseError(format!("unknown srv_op_state {n}"))),
            },
            admin: AdminFlags(num(admin)?),
            check_health: num(health)?,
            check_state: num(chk_state)?,
            raw: line.to_owned(),
        });
    }
    Ok(rows)
}

/// The header lines of the answer to `show servers state` (version and column names), which a
/// server-state file must start with.
pub(crate) fn servers_state_header(text: &str) -> Option<String> {
    let mut lines = text.lines();
    let version = lines.next()?;
    let header = lines.next()?;
    header.starts_with("# ").then(|| format!("{version}\n{header}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from HAProxy 2.6.12 (Debian bookworm) on this machine, trimmed to the columns up
    // to `check_fall` plus `addr`, in HAProxy's order.
    const SHOW_STAT: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,
fe_web,FRONTEND,,,0,1,4096,4,328,460,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,4,,,,0,4,0,0,0,0,,0,4,4,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,,
be_web,a,0,0,0,1,,4,328,460,,0,,0,0,0,0,UP,1,1,0,0,0,16,0,,1,3,1,,4,,2,0,,4,L7OK,200,1,0,4,0,0,0,0,,,,4,0,0,,,,,13,,,0,0,2,3,,,,Layer7 check passed,,2,3,4,,,,127.0.0.1:18901,,http,,
be_web,b,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,0,1,14,14,,1,3,2,,0,,2,0,,0,L7STS,500,3,0,0,0,0,0,0,,,,0,0,0,,,,,-1,Internal Server Error,,0,0,0,0,,,,Layer7 wrong status,,2,3,0,,,,127.0.0.1:18902,,http,,
be_web,c,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,5,,,1,3,3,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:18903,,http,,
be_web,d,0,0,2,2,,7,0,0,,0,,0,0,0,0,UP 1/3,1,1,0,0,0,5,0,,1,3,4,,7,,2,0,,0,L7OK,200,1,0,5,0,0,0,0,,,,5,0,0,,,,,0,,,0,0,0,0,,,,\"Layer7, check passed\",,2,3,2,,,,127.0.0.1:18904,,http,,
be_web,BACKEND,0,0,0,1,410,4,328,460,0,0,,0,0,0,0,UP,1,1,0,,0,16,0,,1,3,0,,4,,1,0,,4,,,,0,4,0,0,0,0,,,,4,0,0,0,0,0,0,13,,,0,0,2,3,,,,,,,,,,,,,,http,roundrobin,
tcpsvc,silent,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,4,,,1,5,2,,0,,2,0,,0,L7TOUT,,1001,,,,,,,,,,,0,0,,,,,-1, at step 2 of tcp-check (expect binary 'PONG'),,0,0,0,0,,,,Layer7 timeout,,1,1,0,,,,127.0.0.1:18912,,tcp,,

";

    #[test]
    fn parses_show_stat_rows_by_column_name() {
        let rows = parse_show_stat(SHOW_STAT).unwrap();
        assert_eq!(rows.len(), 7);
        let fe = &rows[0];
        assert_eq!(
            (fe.proxy.as_str(), fe.kind, &fe.status),
            ("fe_web", RowKind::Frontend, &ServerStatus::Open)
        );
        assert_eq!((fe.stot, fe.req_tot), (4, Some(4)));

        let a = &rows[1];
        assert_eq!((a.proxy.as_str(), a.server.as_str(), a.kind), ("be_web", "a", RowKind::Server));
        assert_eq!(a.status, ServerStatus::Up);
        assert_eq!((a.scur, a.stot, a.req_tot, a.hrsp_5xx), (0, 4, Some(4), Some(0)));
        assert_eq!(a.check_status.as_deref(), Some("L7OK"));
        assert_eq!(a.check_code, Some(200));
        assert_eq!((a.check_health, a.check_rise, a.check_fall), (Some(4), Some(2), Some(3)));
        assert!(a.checks_passing());
        assert_eq!(a.addr.as_deref(), Some("127.0.0.1:18901"));

        let b = &rows[2];
        assert_eq!(b.status, ServerStatus::Down);
        assert!(!b.checks_passing());
        assert_eq!(b.last_check(), "L7STS 500 Layer7 wrong status");

        let c = &rows[3];
        assert_eq!(c.status, ServerStatus::Maint);
        assert_eq!(c.check_status, None);
        assert_eq!(c.last_check(), "none");

        let d = &rows[4];
        assert_eq!(d.status, ServerStatus::Up, "{}", d.status_raw);
        assert_eq!(d.status_raw, "UP 1/3");
        assert_eq!(d.scur, 2);
        assert_eq!(d.check_desc.as_deref(), Some("Layer7, check passed"), "quoted field");

        assert_eq!(rows[5].kind, RowKind::Backend);

        let silent = &rows[6];
        assert_eq!((silent.req_tot, silent.hrsp_5xx), (None, None), "TCP mode has no request counts");
        assert_eq!(silent.last_check(), "L7TOUT Layer7 timeout");
    }

    #[test]
    fn parses_every_status_haproxy_prints() {
        for (raw, status) in [
            ("UP", ServerStatus::Up),
            ("UP 1/3", ServerStatus::Up),
            ("DOWN", ServerStatus::Down),
            ("DOWN 1/2", ServerStatus::Down),
            ("DRAIN", ServerStatus::Drain),
            ("MAINT", ServerStatus::Maint),
            ("MAINT(via)", ServerStatus::Maint),
            ("MAINT (resolution)", ServerStatus::Maint),
            ("no check", ServerStatus::NoCheck),
            ("NOLB", ServerStatus::NoLb),
            ("OPEN", ServerStatus::Open),
            ("FULL", ServerStatus::Other("FULL".into())),
        ] {
            assert_eq!(ServerStatus::parse(raw), status, "{raw}");
        }
        assert!(ServerStatus::Up.in_rotation());
        assert!(!ServerStatus::Drain.in_rotation());
    }

    #[test]
    fn refuses_an_answer_that_is_not_show_stat() {
        let err = parse_show_stat("Unknown command.\n").unwrap_err();
        assert!(err.0.contains("Unknown command"), "{err}");
    }

    // Captured from HAProxy 2.6.12: a drained server, a server down by checks, a dynamic server
    // just added (maintenance, checks on) and one disabled in the file.
    const SERVERS_STATE: &str = "1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 web 1 a 127.0.0.1 2 8 1 1 0 15 3 1 6 0 0 0 - 18901 - 0 0 - - 0
3 web 2 b 127.0.0.1 0 0 1 1 14 17 2 0 6 0 0 0 - 18902 - 0 0 - - 0
3 web 4 i ::1 0 1 1 1 5 15 3 3 6 0 0 0 - 18901 - 0 0 - - 0
3 web 5 c 127.0.0.1 0 5 1 1 3 1 0 0 14 0 0 0 - 18903 - 0 0 - - 0

";

    #[test]
    fn parses_show_servers_state() {
        let rows = parse_servers_state(SERVERS_STATE).unwrap();
        assert_eq!(rows.len(), 4);
        let a = &rows[0];
        assert_eq!((a.backend.as_str(), a.server.as_str()), ("web", "a"));
        assert_eq!(a.socket_addr(), "127.0.0.1:18901".parse().unwrap());
        assert_eq!(a.op_state, OpState::Running);
        assert!(a.admin.drain() && !a.admin.maint());
        assert_eq!(rows[1].op_state, OpState::Stopped);
        assert!(!rows[1].admin.drain() && !rows[1].admin.maint());
        let i = &rows[2];
        assert_eq!(i.socket_addr(), "[::1]:18901".parse().unwrap());
        assert!(i.admin.maint());
        assert_eq!(i.check_health, 3);
        assert!(rows[3].admin.maint());
        assert_eq!(rows[3].check_state, 14);
        assert_eq!(rows[0].raw, "3 web 1 a 127.0.0.1 2 8 1 1 0 15 3 1 6 0 0 0 - 18901 - 0 0 - - 0");
        assert!(servers_state_header(SERVERS_STATE).unwrap().starts_with("1\n# be_id be_name"));
    }

    #[test]
    fn parses_an_empty_servers_state_and_refuses_an_error() {
        let empty = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n\n";
        assert_eq!(parse_servers_state(empty).unwrap(), vec![]);
        assert!(parse_servers_state("Can't find backend.\n\n").is_err());
    }
}

// Real replies captured from Debian's HAProxy 2.6.12-1+deb12u4 on 127.0.0.1 (backend "web" with
// `server-template slot 1-4 127.0.0.1:9 disabled`, slot1 ready with one request in flight, slot2
// draining, slot3 re-pointed to ::1, slot-add1 added with `add server`). Do not edit: re-capture.
#pragma once
#include <string_view>

namespace baker::sherlock::haproxy::fixtures {

inline constexpr std::string_view kServersState = R"haproxy(1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 web 1 slot1 127.0.0.1 2 4 100 1 8 1 0 0 8 0 0 0 - 18201 - 0 0 - - 0
3 web 2 slot2 10.0.0.2 2 12 1 1 8 1 0 0 8 0 0 0 - 8080 - 0 0 - - 0
3 web 3 slot3 ::1 0 5 1 1 8 1 0 0 8 0 0 0 - 8081 - 0 0 - - 0
3 web 4 slot4 10.0.0.10 0 5 1 1 8 1 0 0 8 0 0 0 - 81 - 0 0 - - 0
3 web 5 slot-add1 127.0.0.1 2 0 50 50 8 1 0 0 0 0 0 0 - 18201 - 0 0 - - 0
)haproxy";

inline constexpr std::string_view kStatWithSession =
    R"haproxy(# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,
web,slot1,0,0,1,1,,2,82,118,,0,,0,0,0,0,no check,100,1,0,,,8,,,1,3,1,,2,,2,1,,1,,,,0,1,0,0,0,0,,,,1,0,0,,,,,0,,,0,0,3001,3001,,,,,,,,,,,,127.0.0.1:18201,,http,,,,,,,,0,1,1,,,0,,0,0,3001,3001,0,0,0,1,1,100,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
web,slot2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DRAIN,1,1,0,,,8,,,1,3,2,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,10.0.0.2:8080,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
web,slot3,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,8,,,1,3,3,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,[::1]:8081,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
web,slot4,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,8,,,1,3,4,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,10.0.0.10:81,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
web,slot-add1,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,50,1,0,,,8,,,1,3,5,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:18201,,http,,,,,,,,0,0,0,,,0,0,0,0,0,0,0,0,0,0,0,50,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
)haproxy";

inline constexpr std::string_view kShowInfo = R"haproxy(Name: HAProxy
Version: 2.6.12-1+deb12u4
Release_date: 2026/10/17
Nbthread: 2
Nbproc: 1
Process_num: 1
Pid: 20960
Uptime: 0d 0h00m08s
Uptime_sec: 8
Memmax_MB: 0
PoolAlloc_MB: 0
PoolUsed_MB: 0
PoolFailed: 0
Ulimit-n: 20000
Maxsock: 20000
Maxconn: 9980
Hard_maxconn: 9980
CurrConns: 1
CumConns: 5
CumReq: 5
MaxSslConns: 0
CurrSslConns: 0
CumSslConns: 0
Maxpipes: 0
PipesUsed: 0
PipesFree: 0
ConnRate: 1
ConnRateLimit: 0
MaxConnRate: 1
SessRate: 1
SessRateLimit: 0
MaxSessRate: 1
SslRate: 0
SslRateLimit: 0
MaxSslRate: 0
SslFrontendKeyRate: 0
SslFrontendMaxKeyRate: 0
SslFrontendSessionReuse_pct: 0
SslBackendKeyRate: 0
SslBackendMaxKeyRate: 0
SslCacheLookups: 0
SslCacheMisses: 0
CompressBpsIn: 0
CompressBpsOut: 0
CompressBpsRateLim: 0
Tasks: 17
Run_queue: 0
Idle_pct: 100
node: vm
Stopping: 0
Jobs: 5
Unstoppable Jobs: 1
Listeners: 3
ActivePeers: 0
ConnectedPeers: 0
DroppedLogs: 0
BusyPolling: 0
FailedResolutions: 0
TotalBytesOut: 9613
TotalSplicdedBytesOut: 0
BytesOutRate: 3200
DebugCommandsIssued: 0
CumRecvLogs: 0
Build info: 2.6.12-1+deb12u4
Memmax_bytes: 0
PoolAlloc_bytes: 141968
PoolUsed_bytes: 141968
Start_time_sec: 1795425918
Tainted: 0
)haproxy";

inline constexpr std::string_view kStatAfterDrain =
    R"haproxy(# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,
web,slot1,0,0,1,1,,2,82,118,,0,,0,0,0,0,DRAIN,100,1,0,,,0,,,1,3,1,,2,,2,1,,1,,,,0,1,0,0,0,0,,,,1,0,0,,,,,0,,,0,0,3001,3001,,,,,,,,,,,,127.0.0.1:18201,,http,,,,,,,,0,1,1,,,0,,0,0,3001,3001,0,0,0,1,1,100,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
web,slot2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DRAIN,1,1,0,,,8,,,1,3,2,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,10.0.0.2:8080,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
web,slot3,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,8,,,1,3,3,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,[::1]:8081,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
web,slot4,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,8,,,1,3,4,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,10.0.0.10:81,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
)haproxy";

inline constexpr std::string_view kShowProc =
    R"haproxy(#<PID>          <type>          <reloads>       <uptime>        <version>      
20959           master          0 [failed: 0]   0d00h00m01s     2.6.12-1+deb12u4
# workers
20960           worker          0               0d00h00m01s     2.6.12-1+deb12u4
# programs

)haproxy";

inline constexpr std::string_view kShowProcOldWorker =
    R"haproxy(#<PID>          <type>          <reloads>       <uptime>        <version>      
20959           master          1 [failed: 0]   0d00h00m09s     2.6.12-1+deb12u4
# workers
20991           worker          0               0d00h00m01s     2.6.12-1+deb12u4
# old workers
20960           worker          1               0d00h00m09s     2.6.12-1+deb12u4
# programs

)haproxy";

inline constexpr std::string_view kShowInfoStopping = R"haproxy(Name: HAProxy
Version: 2.6.12-1+deb12u4
Release_date: 2026/10/17
Nbthread: 2
Nbproc: 1
Process_num: 1
Pid: 20960
Uptime: 0d 0h00m09s
Uptime_sec: 9
Memmax_MB: 0
PoolAlloc_MB: 0
PoolUsed_MB: 0
PoolFailed: 0
Ulimit-n: 20000
Maxsock: 20000
Maxconn: 9980
Hard_maxconn: 9980
CurrConns: 1
CumConns: 7
CumReq: 7
MaxSslConns: 0
CurrSslConns: 0
CumSslConns: 0
Maxpipes: 0
PipesUsed: 0
PipesFree: 0
ConnRate: 1
ConnRateLimit: 0
MaxConnRate: 1
SessRate: 1
SessRateLimit: 0
MaxSessRate: 1
SslRate: 0
SslRateLimit: 0
MaxSslRate: 0
SslFrontendKeyRate: 0
SslFrontendMaxKeyRate: 0
SslFrontendSessionReuse_pct: 0
SslBackendKeyRate: 0
SslBackendMaxKeyRate: 0
SslCacheLookups: 0
SslCacheMisses: 0
CompressBpsIn: 0
CompressBpsOut: 0
CompressBpsRateLim: 0
Tasks: 17
Run_queue: 1
Idle_pct: 100
node: vm
Stopping: 1
Jobs: 3
Unstoppable Jobs: 1
Listeners: 1
ActivePeers: 0
ConnectedPeers: 0
DroppedLogs: 0
BusyPolling: 0
FailedResolutions: 0
TotalBytesOut: 14369
TotalSplicdedBytesOut: 0
BytesOutRate: 5440
DebugCommandsIssued: 0
CumRecvLogs: 0
Build info: 2.6.12-1+deb12u4
Memmax_bytes: 0
PoolAlloc_bytes: 144328
PoolUsed_bytes: 144328
Start_time_sec: 1795425918
Tainted: 0
)haproxy";

}  // namespace baker::sherlock::haproxy::fixtures

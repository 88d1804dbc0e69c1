//! Session security (MS-NLMP §3.4): to be filled by the crypto work.
#![forbid(unsafe_code)]

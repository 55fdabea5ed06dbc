// Package forensics aggregates archived SES events — files, Firehose `YYYY/MM/DD/HH` folders,
// gzip, stdin — by principal, source IP, From address, identity, configuration set or hour, and
// joins Reject, Bounce, Complaint, Delivery (and the other outcome events) to their Send by
// message id so each group shows what became of its mail.
//
// Memory stays flat however large the archive: records are streamed one at a time, the
// message-id join state is a bounded FIFO (Options.MaxJoin ids; an outcome whose Send has been
// evicted, or was never seen, is grouped by its own mail object and tags and counted as
// unjoined), and the number of groups is capped (Options.MaxGroups; later keys are folded into
// the "(other)" group).
package forensics

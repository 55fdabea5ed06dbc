package main

import "github.com/sesguard/sesguard/shared/engine/coverage"

// sesRegions are the commercial Regions where SES offers its API, for `-c sesguardRegions=all`
// and to refuse a Region by name. One list for the CDK app and the coverage function's
// Region check (coverage.SESRegions carries its source); a clone, so nothing here can change it.
func sesRegions() []string { return append([]string(nil), coverage.SESRegions...) }

// globalRegion receives the CloudTrail events of IAM, STS's global endpoint and Support, and AWS
// Health's account-wide events.
const globalRegion = "us-east-1"

package mfa

import (
	"strconv"
	"strings"
)

// validateFilter checks a users filter (UserFilter.Validate) and that the directory offers each
// filter given: the coverage filter needs Conditional Access (Microsoft Graph).
func (s *Service) validateFilter(f *UserFilter) error {
	if err := f.Validate(); err != nil {
		return err
	}
	caps := s.Capabilities()
	for _, c := range Choices {
		if c.Get(f) != "" && !c.Offered(caps) {
			return FieldErrorf(c.Param, "%s: this directory has no Conditional Access (only the Microsoft Graph directory has)", c.Param)
		}
	}
	return nil
}

// ExportCoverageHeader are the export's columns of Conditional Access coverage, after
// ExportHeader's, where the directory knows it.
var ExportCoverageHeader = []string{"Conditional Access", "Conditional Access Policies", "Security Defaults"}

// exportColumns are the coverage's values for ExportCoverageHeader: the API's status, the policy
// names separated by "; ", and true or false; empty when not known.
func (c Coverage) exportColumns() []string {
	if !c.Known() {
		return []string{"", "", ""}
	}
	return []string{string(c.Status), strings.Join(c.Policies, "; "), strconv.FormatBool(c.SecurityDefaults)}
}

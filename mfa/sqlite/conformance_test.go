package sqlite

import (
	"testing"

	"github.com/mfaportal/mfaportal/mfa/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return openTest(t) })
}

package models

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// releasedMigrations are the SHA-256 of every released migration as each dialect runs it (its statements joined
// by "\n;\n"). A released migration is frozen: the databases it already ran on never run it again, so changing
// its SQL (or a type or constant it is built from) would make new databases differ from old ones. Add a line
// here when a migration is released; never change one.
var releasedMigrations = map[int]struct{ sqlite, postgres string }{
	1: {
		"628716c711c4dda5cdf368ad78df03b4abe1548451cc2d97a795235d0b7653f4",
		"49817ab04c5a4b5d6e7f783a87a44afc75482e16c0ee1fe0fc389181070aa30b",
	},
	2: {
		"675de3978cb20d7a4c141c55399d699d0cc4bc477a87d8c64d4e67ab68c003ee",
		"62c4f1abfa4af9b06466a0d99dc1dc8131e39fb683e39d28ec976fc9c0171a92",
	},
	3: {
		"3a98f1fdce12f89afa4dc0f50532822f30ebc34fc1ea93104d522b33f1047a5c",
		"c4cec02fd1bfe417037f1c0b4b77f36377bc36b92e36ec98783082354a3458ed",
	},
	4: {
		"df63845b5bfcd48981ebb3672255accf669624a7770d1ee03ebc73d653823137",
		"df63845b5bfcd48981ebb3672255accf669624a7770d1ee03ebc73d653823137",
	},
	5: {
		"8211b1245819dceb8b913fe0e3782f18abddc9dc9f02601c886cdc774fa66cca",
		"8211b1245819dceb8b913fe0e3782f18abddc9dc9f02601c886cdc774fa66cca",
	},
	6: {
		"334c7e3f900bc7c45e0a7d778305da5eb1d6ab3d1ba30d270f36dc0938ba5cf5",
		"334c7e3f900bc7c45e0a7d778305da5eb1d6ab3d1ba30d270f36dc0938ba5cf5",
	},
	8: {
		"c390eaef84fbc72beeafa1489d49a4d067c08680eb291ef5791e6cae892cf09a",
		"c0813ef625cd63b8b9b0630a1b4598fa3d4c0bb11799093e2746137bb894cc33",
	},
}

func migrationDigest(m migration, dialect string) string {
	sum := sha256.Sum256([]byte(strings.Join(m.sql(dialect), "\n;\n")))
	return hex.EncodeToString(sum[:])
}

func TestReleasedMigrationsAreFrozen(t *testing.T) {
	seen := 0
	for _, m := range migrations() {
		want, released := releasedMigrations[m.version]
		if !released {
			continue
		}
		seen++
		for _, d := range []struct{ dialect, want string }{{"sqlite", want.sqlite}, {"postgres", want.postgres}} {
			if got := migrationDigest(m, d.dialect); got != d.want {
				t.Errorf("released migration %d (%s) changed on %s: digest %s, was %s", m.version, m.name, d.dialect, got, d.want)
			}
		}
	}
	if seen != len(releasedMigrations) {
		t.Errorf("%d released migrations are listed, %d of them still exist", len(releasedMigrations), seen)
	}
}

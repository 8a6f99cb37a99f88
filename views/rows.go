package views

import (
	"context"
	"io"

	"github.com/a-h/templ"

	"stackboard/models"
)

// keptRow is a list's row kept in kept while what it shows stays the same: rendered by row when kept holds none
// for key (what time changes in the row, "" when nothing), and copied from kept otherwise.
func keptRow(kept *models.RenderedRow, key string, row templ.Component) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		html, err := kept.HTML(key, func() (string, error) {
			html, err := templ.ToGoHTML(ctx, row)
			return string(html), err
		})
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, html)
		return err
	})
}

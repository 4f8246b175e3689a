package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/export"
)

var infoCommand = &cli.Command{
	Name:      "info",
	Usage:     "describe an ONNX model, safetensors checkpoint or PyTorch state dict",
	ArgsUsage: "FILE...",
	Description: `Prints the network and its options (from metadata, or detected from the
keys), the parameter count, the ONNX inputs and outputs with their shapes, and
the metadata. A file whose network is not recognized is still described, with
the reason.`,
	Flags: []cli.Flag{jsonFlag},
	Action: func(c *cli.Context) error {
		if c.NArg() == 0 {
			return fmt.Errorf("info needs at least one file")
		}
		var infos []*export.Info
		for _, path := range c.Args().Slice() {
			info, err := export.Inspect(path)
			if err != nil {
				return err
			}
			infos = append(infos, info)
		}
		if c.Bool(jsonFlag.Name) {
			return writeJSON(c.App.Writer, infos) // an array, for one file too
		}
		for _, info := range infos {
			fmt.Fprint(c.App.Writer, info.Text())
		}
		return nil
	},
}

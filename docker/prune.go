package docker

import (
	"context"
	"fmt"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/rs/zerolog"
)

// PruneReport lists the objects Prune found (and, unless it was a dry run, removed), as
// "name (id)" strings for containers and networks, names for volumes and tags or ids for images.
type PruneReport struct {
	Containers []string `json:"containers"`
	Networks   []string `json:"networks"`
	Volumes    []string `json:"volumes"`
	Images     []string `json:"images"`
}

// Empty reports whether nothing was found.
func (p PruneReport) Empty() bool {
	return len(p.Containers)+len(p.Networks)+len(p.Volumes)+len(p.Images) == 0
}

// PruneOptions selects what Prune removes.
type PruneOptions struct {
	// DryRun only lists.
	DryRun bool
	// RunID limits the prune to one run's objects; "" means every run's.
	RunID string
	// Images also removes faultline images (label faultline.image); only with RunID "".
	Images bool
}

// Prune removes the containers, networks and volumes that carry the label faultline.run (of
// opts.RunID, or of any run) and, with opts.Images, the images labelled faultline.image. It
// needs only an engine, not a Runtime.
func Prune(ctx context.Context, log zerolog.Logger, opts PruneOptions) (PruneReport, error) {
	cli, err := newClient()
	if err != nil {
		return PruneReport{}, err
	}
	defer cli.Close()
	return prune(ctx, cli, log, opts.DryRun, opts.RunID, opts.Images && opts.RunID == "", 5)
}

func prune(ctx context.Context, cli *client.Client, log zerolog.Logger, dryRun bool, runID string, images bool, parallel int) (PruneReport, error) {
	rep := PruneReport{Containers: []string{}, Networks: []string{}, Volumes: []string{}, Images: []string{}}
	f := runFilter(runID)
	ctrs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return rep, fmt.Errorf("docker: prune: listing containers: %w", err)
	}
	for _, c := range ctrs {
		name := c.ID[:12]
		if len(c.Names) > 0 {
			name = c.Names[0][1:] + " (" + c.ID[:12] + ")"
		}
		rep.Containers = append(rep.Containers, name)
	}
	if !dryRun {
		// Node containers first: a namespace holder cannot go while a node uses its namespace.
		var nodes, holders []container.Summary
		for _, c := range ctrs {
			if c.Labels[LabelRole] == "netns" {
				holders = append(holders, c)
			} else {
				nodes = append(nodes, c)
			}
		}
		for _, batch := range [][]container.Summary{nodes, holders} {
			if err := removeContainers(ctx, cli, batch, parallel); err != nil {
				return rep, err
			}
		}
	}
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return rep, fmt.Errorf("docker: prune: listing networks: %w", err)
	}
	for _, n := range nets {
		rep.Networks = append(rep.Networks, n.Name+" ("+n.ID[:12]+")")
		if !dryRun {
			if err := cli.NetworkRemove(ctx, n.ID); err != nil && !client.IsErrNotFound(err) {
				return rep, fmt.Errorf("docker: prune: removing network %s: %w", n.Name, err)
			}
		}
	}
	vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		return rep, fmt.Errorf("docker: prune: listing volumes: %w", err)
	}
	for _, v := range vols.Volumes {
		rep.Volumes = append(rep.Volumes, v.Name)
		if !dryRun {
			if err := cli.VolumeRemove(ctx, v.Name, true); err != nil && !client.IsErrNotFound(err) {
				return rep, fmt.Errorf("docker: prune: removing volume %s: %w", v.Name, err)
			}
		}
	}
	if images {
		imgs, err := cli.ImageList(ctx, image.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelImage))})
		if err != nil {
			return rep, fmt.Errorf("docker: prune: listing images: %w", err)
		}
		for _, im := range imgs {
			name := im.ID
			if len(im.RepoTags) > 0 {
				name = im.RepoTags[0]
			}
			rep.Images = append(rep.Images, name)
			if !dryRun {
				_, err := cli.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
				if err != nil && !client.IsErrNotFound(err) {
					return rep, fmt.Errorf("docker: prune: removing image %s: %w", name, err)
				}
			}
		}
	}
	log.Debug().Bool("dry_run", dryRun).Str("run", runID).Int("containers", len(rep.Containers)).
		Int("networks", len(rep.Networks)).Int("volumes", len(rep.Volumes)).Int("images", len(rep.Images)).Msg("pruned")
	return rep, nil
}

// removeContainers force-removes cs (thawing paused ones first), parallel at a time.
func removeContainers(ctx context.Context, cli *client.Client, cs []container.Summary, parallel int) error {
	sem := make(chan struct{}, parallel)
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if c.State == "paused" {
				cli.ContainerUnpause(ctx, c.ID) // best effort: removal reports the real error
			}
			err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !client.IsErrNotFound(err) {
				errs[i] = fmt.Errorf("docker: prune: removing container %s: %w", c.ID[:12], err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Package data loads training images for the trainers.
package data
